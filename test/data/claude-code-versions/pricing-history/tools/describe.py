import json,re,sys
exec(open('/tmp/cc/lib.py').read()); exec(open('/tmp/cc/short.py').read())
def compact(p):
    d=dict(re.findall(r'(\w+):(-?[\d.e-]+)',p))
    k=['inputTokens','outputTokens','promptCacheWriteTokens','promptCacheWrite1hTokens','promptCacheReadTokens','webSearchRequests']
    ab={'inputTokens':'in','outputTokens':'out','promptCacheWriteTokens':'cw5m','promptCacheWrite1hTokens':'cw1h','promptCacheReadTokens':'cr','webSearchRequests':'ws'}
    return 'P{'+' '.join(f"{ab[x]}={d[x]}" for x in k if x in d)+'}'
def describe(v):
    s=load(v); R=json.load(open(f'/tmp/cc/ex/{v}.json'))
    prices={k:compact(p) for k,p in R['prices'].items()}
    def sub(code):
        for k,c in prices.items():
            code=re.sub(r'(?<![\w$.])'+re.escape(k)+r'(?![\w$])',c,code)
        code=re.sub(r'\{inputTokens:[^{}]*\}',lambda m:compact(m.group(0)),code)
        return code
    out=[f'### {v}']
    # lookup fn(s)
    names=list(R['funcs'].keys())
    for n,b in R['funcs'].items():
        if 'tengu_' in b and 'unknown_model_cost' in b or re.search(r'\[[\w$]+\]',b) and ('additionalModelCosts' in b or '200000' in b or 'firstParty' in b):
            out.append('LOOKUP '+n+': '+sub(b))
    for n,b in R['funcs'].items():
        if '1e6' in b or 'speed' in b or '200000' in b or 'discount' in b.lower() or 'isQualifiedForDataSharing' in b or 'FAST_MODE' in b:
            if not any(n in o.split(':')[0] for o in out): out.append('FN '+n+': '+sub(b))
    # short name funcs
    shorts=[n for n,b in R['funcs'].items() if '.includes("claude-' in b or '.match(/(claude-' in b]
    via=set(f for f,_ in R['map'].values())
    for n in shorts:
        st=parse_short(R['funcs'][n]); out.append(f'SHORT {n}: '+json.dumps(st))
    keyfn=None
    for f in via:
        if f in R['funcs'] and f in shorts: keyfn=f
        elif f in R['funcs']:
            mm=re.search(r'return ([\w$]+)\(',R['funcs'][f]); 
            if mm and mm.group(1) in shorts: keyfn=mm.group(1)
        else:
            d=fdef(s,f)
            if d and ('.includes("claude-' in d or '.match(/(claude-' in d): R['funcs'][f]=d; keyfn=f
    out.append('MAPKEYFN '+str(keyfn)+' via '+','.join(via))
    st=parse_short(R['funcs'][keyfn]) if keyfn else None
    for mid,(f,p) in R['map'].items():
        key=apply_short(st,mid) if st and mid else None
        out.append(f'  {key:22} <- {mid:30} {compact(p) if p.startswith("{") else p}')
    out.append('REFS '+json.dumps(R['refs'])[:600])
    return '\n'.join(out)
if __name__=='__main__':
    for v in sys.argv[1:]: print(describe(v)); print()
