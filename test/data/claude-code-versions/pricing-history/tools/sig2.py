import json,os,subprocess,hashlib,sys,re
exec(open('/tmp/cc/lib.py').read()); exec(open('/tmp/cc/jslit.py').read())
exec(open('/tmp/cc/fp.py').read().split("def called")[0].split("exec(open('/tmp/cc/lib.py').read())")[1])  # KW,TOK,norm
def anchors(s):
    out={}
    i=s.find('"tengu_unknown_model_cost",{')
    for name,pat in [('unknown','"tengu_unknown_model_cost",{'),('cost','input_tokens/1e6*'),('geo','inference_geo==="us"?'),('w1h','promptCacheWrite1hTokens,'),('long','abovePromptTokens?o:'),('longsel','.abovePromptTokens'),('iter','iterations.filter(')]:
        j=s.find(pat, max(0,i-400000))
        if j<0: continue
        r=enclosing_func(s,j,20000)
        if r: out[name]=r[1][:4000]
    seen=set(); n=0
    for mm in re.finditer(r'additionalModelCostsCache',s[max(0,i-400000):i+400000]):
        r=enclosing_func(s,max(0,i-400000)+mm.start(),20000)
        if r and r[0] not in seen and r[1].startswith('function'):
            seen.add(r[0]); out['amc%d'%n]=r[1][:4000]; n+=1
    m=re.search(r'function [\w$]+\([\w$]+\)\{if\([\w$]+==="claude-[^"]+"(?:\|\|[\w$]+==="claude-[^"]+")*\)return [\w$]+;[^}]{0,400}\}',s)
    if m: out['fasttable']=m.group(0)
    return out
def sig2(v):
    if not os.path.exists(f'/tmp/cc/js/{v}.js'):
        r=subprocess.run(['/tmp/cc/get.sh',v],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
        if not os.path.exists(f'/tmp/cc/js/{v}.js'): return None
    p=f'/tmp/cc/ex/{v}.sig2.json'
    if os.path.exists(p): return json.load(open(p))
    s=load(v)
    if not os.path.exists(f'/tmp/cc/ex/{v}.feat.json'):
        subprocess.run(['python3','/tmp/cc/feat.py',v],stdout=subprocess.DEVNULL)
    F=json.load(open(f'/tmp/cc/ex/{v}.feat.json'))
    C=find_catalog2(s)
    A=anchors(s)
    objs=sorted(o for o in F['price_objs'] if 'promptCache' in o)
    cat=[C.get('pricing_tiers'),[(m.get('id'),m.get('pricing'),m.get('provider_ids')) for m in C['models']]] if C else None
    parts={'cat':cat,'flags':sorted(k for k,x in F.items() if x is True and k not in('fast_in_cost',)),'objs':objs,'code':{k:norm(x) for k,x in A.items()}}
    S={k:hashlib.sha1(json.dumps(x,sort_keys=True).encode()).hexdigest()[:6] for k,x in parts.items()}
    S['codeparts']={k:hashlib.sha1(x.encode()).hexdigest()[:6] for k,x in parts['code'].items()}
    json.dump(S,open(p,'w')); json.dump({'catalog':C,'anchors':A,'objs':objs},open(f'/tmp/cc/ex/{v}.native.json','w'))
    return S
if __name__=='__main__':
    for v in sys.argv[1:]: print(v,json.dumps(sig2(v)))
