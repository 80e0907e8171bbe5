import re, sys, json, hashlib
exec(open('/tmp/cc/lib.py').read())
KW=set('function return let var const if else for of in new typeof void null true false undefined this await async throw try catch finally switch case default break continue while do instanceof delete yield class extends super Math Number String Object Array JSON process Date Error includes match replace toLowerCase startsWith endsWith test env find some every map filter reduce has get set length'.split())
TOK=re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`(?:\\.|[^`\\])*`|/(?:\\.|[^/\\\n])+/[gimsuy]*(?=[),.;])|[A-Za-z_$][\w$]*|.',re.S)
def norm(code):
    names={}; out=[]; prev=''
    for m in TOK.finditer(code):
        t=m.group(0)
        if re.match(r'[A-Za-z_$][\w$]*$',t) and t not in KW and prev!='.' and not (code[m.end():m.end()+1]==':' and prev in ('{',',')) :
            if t not in names: names[t]='v%d'%len(names)
            out.append(names[t])
        else: out.append(t)
        if not t.isspace(): prev=t
    return ''.join(out)
def called(code):
    return [m.group(1) for m in re.finditer(r'(?<![\w$.])([\w$]+)\(',code) if m.group(1) not in KW and m.group(1)!='function']
def analyze(v):
    s=load(v); R={'version':v,'funcs':{},'prices':{},'map':{},'notes':[]}
    costfns=[]
    for m in re.finditer(r'function ('+ID+r')\(('+ID+r'),('+ID+r')\)\{(?:let [^;]*;)?return (?:\(?\3\.input_tokens|\3\.input_tokens)',s):
        costfns.append((m.group(1),func_at(s,m.start())))
    lookups=[]
    for m in re.finditer(r'tengu_unknown_model_cost',s):
        r=enclosing_func(s,m.start())
        if r: lookups.append(r)
    funcs={}
    for n,b in costfns: funcs[n]=b
    for k,b in lookups:
        mm=re.match(r'function ('+ID+r')\(',b)
        if not mm or 'tengu_unknown_model_cost' not in b[:3000]: continue
        n=mm.group(1)
        if n in funcs: continue
        funcs[n]=b
        if len(b)<200:  # tiny reporter: include its callers
            for c in re.finditer(r'(?<![\w$.])'+re.escape(n)+r'\(',s):
                r2=enclosing_func(s,c.start())
                if r2 and r2[0]!=k and len(r2[1])<3000 and re.match(r'function ('+ID+r')\(',r2[1]):
                    n2=re.match(r'function ('+ID+r')',r2[1]).group(1); funcs[n2]=r2[1]
    # callers of cost fns (entry)
    for n,b in costfns:
        for c in re.finditer(r'(?<![\w$.])'+re.escape(n)+r'\(',s):
            r2=enclosing_func(s,c.start())
            if r2 and len(r2[1])<3000 and re.match(r'function ('+ID+r')\(',r2[1]):
                n2=re.match(r'function ('+ID+r')',r2[1]).group(1); funcs.setdefault(n2,r2[1])
    # helpers, depth 2
    core_bodies=set(funcs.values())
    loggers=set(re.findall(r'([\w$]+)\("tengu_',''.join(funcs.values())))
    frontier=list(funcs.values())
    for depth in range(2):
        nxt=[]
        for b in frontier:
            for c in called(b):
                if c in funcs: continue
                d=fdef(s,c)
                if c in loggers: continue
                if d and len(d)<2500 and 'tengu_' not in d and (len(d)<400 and depth==0 or re.search(r'claude-|inputTokens|speed|firstParty|ModelCost|1e6|fast|\\[1m\\]',d)):
                    funcs[c]=d; nxt.append(d)
        frontier=nxt
    R['funcs']=funcs
    for m in re.finditer(r'('+ID+r')=(\{inputTokens:[\d.e-]+,[^{}]*\})',s):
        R['prices'][m.group(1)]=m.group(2)
    for m in re.finditer(r'('+ID+r')=\{\[('+ID+r')\(('+ID+r')\.firstParty\)\]:',s):
        body=vdef(s,m.group(1))
        for e in re.finditer(r'\[('+ID+r')\(('+ID+r')\.firstParty\)\]:(\{[^{}]*\}|'+ID+')',body):
            val=e.group(3); val=R['prices'].get(val,val) if not val.startswith('{') else val
            R['map'][firstparty(s,e.group(2))]=(e.group(1),val)
        R['mapsrc']=body
    # vars referenced in lookups that are defaults
    refs={}
    for n,b in funcs.items():
        for m in re.finditer(r'(?<![\w$.])([\w$]+)\.firstParty',b):
            refs[m.group(1)+'.firstParty']=firstparty(s,m.group(1))
        for m in re.finditer(r'\[[\w$]+\(([\w$]+)\)\]',b):
            vd=vdef(s,m.group(1),120); refs[m.group(1)]=vd
    R['refs']=refs
    # normalized fingerprint: canonical funcs sorted by normalized text
    nf=sorted(norm(b) for b in funcs.values())
    pm=sorted((str(k),norm(f),re.sub(r'^\{|\}$','',p)) for k,(f,p) in R['map'].items())
    fp=json.dumps([nf,pm,sorted(R['prices'].values())])
    core=sorted(norm(b) for b in funcs.values() if b in core_bodies or '"claude-' in b or 'inputTokens' in b or '1e6' in b)
    R['fp_core']=hashlib.sha1(json.dumps([core,pm,sorted(R['prices'].values())]).encode()).hexdigest()[:10]
    R['fp']=hashlib.sha1(fp.encode()).hexdigest()[:10]
    R['fp_funcs']=hashlib.sha1(json.dumps(nf).encode()).hexdigest()[:8]
    R['fp_map']=hashlib.sha1(json.dumps(pm).encode()).hexdigest()[:8]
    R['has200k']=any(('200000' in b or '200_000' in b or '2e5' in b) for b in funcs.values())
    json.dump(R,open(f'/tmp/cc/ex/{v}.json','w'),indent=1)
    return R
if __name__=='__main__':
    for v in sys.argv[1:]:
        R=analyze(v); print(v,'core',R['fp_core'],R['fp'],R['fp_funcs'],R['fp_map'],'200k' if R['has200k'] else '-',len(R['funcs']),'funcs',len(R['map']),'models')
