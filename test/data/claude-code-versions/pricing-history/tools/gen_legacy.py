import json,re,sys
exec(open('/tmp/cc/lib.py').read()); exec(open('/tmp/cc/short.py').read())
vs=json.load(open('/work/research/pricing/versions.json'))
AB={'inputTokens':'input','outputTokens':'output','promptCacheWriteTokens':'cache_write_5m','promptCacheWrite1hTokens':'cache_write_1h','promptCacheReadTokens':'cache_read','webSearchRequests':'web_search'}
def price(p):
    d={AB[k]:float(x) for k,x in re.findall(r'(\w+):(-?[\d.]+(?:e-?\d+)?)',p) if k in AB}
    d={k:(int(x) if x==int(x) else x) for k,x in d.items()}
    d.setdefault('web_search',0)
    return d
def auto(v):
    s=load(v); R=json.load(open(f'/tmp/cc/ex/{v}.json'))
    shorts={n:b for n,b in R['funcs'].items() if '.includes("claude-' in b or '.match(/(claude-' in b}
    via={f for f,_ in R['map'].values()}
    keyfn=None
    for f in via:
        if f in shorts: keyfn=f
        else:
            d=R['funcs'].get(f) or fdef(s,f)
            if d and ('.includes("claude-' in d or '.match(/(claude-' in d): keyfn=f; shorts[f]=d
    steps=parse_short(shorts[keyfn])
    prices={}
    for mid,(f,p) in R['map'].items():
        key=apply_short(steps,mid)
        prices[key]={'first_party_id':mid,**price(p)}
    # default model for unknown
    lookup=[b for b in R['funcs'].values() if re.search(r'\[[\w$]+\(([\w$]+)(\.firstParty)?\)\]',b) and ('tengu_unknown' in b or '??' in b or 'return' in b)]
    dflt=None
    for b in R['funcs'].values():
        m=re.search(r'tengu_unknown_model_cost[^;]*?[,;]\s*[\w$]+\(\),([\w$]+)\[[\w$]+\(([\w$.]+)\)\]',b) or re.search(r'[\w$]+\([\w$]+,[\w$]+\),[\w$]+\[[\w$]+\(([\w$.()]+)\)\]',b) or re.search(r'=([\w$]+)\[[\w$]+\(([\w$]+)\)\];let',b)
        if m:
            tok=m.groups()[-1]
            if tok.endswith('.firstParty'): tok=tok[:-11]
            if tok.endswith('()'): dflt='runtime default main-loop model ('+tok+')'
            else: dflt=resolve_fp(s,tok)
    return {'key_steps':steps,'prices':dict(sorted(prices.items())),'unknown_default_model':dflt}
if __name__=='__main__':
    for v in sys.argv[1:]:
        print(v,json.dumps(auto(v))[:1500])
