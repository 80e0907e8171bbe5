exec(open('/tmp/cc/extract.py').read().split("for v in sys.argv")[0])
def load(v, window=True):
    s=open(f'/tmp/cc/js/{v}.js',encoding='utf-8',errors='replace').read()
    if window and len(s)>30_000_000:
        i=s.find('"tengu_unknown_model_cost",{')
        if i>0: s=s[max(0,i-8_000_000):i+8_000_000]
    return s
def resolve_fp(s,name,depth=0):
    if depth>5: return None
    fp=firstparty(s,name)
    if fp: return fp
    m=re.search(r'(?<![\w$.])'+re.escape(name)+r'=([\w$]+)(\.firstParty)?[,;]',s)
    if m: return resolve_fp(s,m.group(1),depth+1)
    return None
