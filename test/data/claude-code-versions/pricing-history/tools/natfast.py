import json,sys,re
exec(open('/tmp/cc/lib.py').read())
exec(open('/tmp/cc/describe.py').read().split('def describe')[0].replace("exec(open('/tmp/cc/lib.py').read()); exec(open('/tmp/cc/short.py').read())",''))
def natfast(v):
    s=load(v); d=json.load(open(f'/tmp/cc/ex/{v}.native.json'))
    code=d['anchors'].get('fasttable') or ''
    a0=d['anchors'].get('amc0','')
    m=re.search(r'if\([\w$]+\.speed==="fast"\)\{(.*?)\}let',a0)
    txt=(m.group(1) if m else '')+' '+code
    res={}
    for mm in re.finditer(r'((?:[\w$]+==="claude-[^"]+"(?:\|\|)?)+)\)return ([\w$]+)',txt):
        models=re.findall(r'"(claude-[^"]+)"',mm.group(1)); var=mm.group(2)
        m2=re.search(r'(?<![\w$.])'+re.escape(var)+r'=(\{inputTokens:[^{}]*\})',s)
        vd=''
        if not m2:
            m3=re.match(re.escape(var)+r'=([\w$]+)[,;]',vd)
            if m3:
                vd2=vdef(s,m3.group(1),300) or ''; m2=re.match(re.escape(m3.group(1))+r'=(\{[^{}]*\})',vd2)
        for mo in models: res[mo]=compact(m2.group(1)) if m2 else var
    return res
for v in sys.argv[1:]: print(v,natfast(v))
