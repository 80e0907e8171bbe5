import json,sys
def summ(v):
    d=json.load(open(f'/tmp/cc/ex/{v}.native.json')); F=json.load(open(f'/tmp/cc/ex/{v}.feat.json'))
    C=d['catalog']; out={'version':v}
    if C:
        out['tiers']={k:'/'.join(str(t.get(x,'-')) for x in ('input','output','cache_write_5m','cache_write_1h','cache_read','web_search'))+(' LP>%s:%s'%(t['long_prompt']['above_prompt_tokens'],'/'.join(str(t['long_prompt'].get(x,'-')) for x in ('input','output','cache_write_5m','cache_write_1h','cache_read'))) if 'long_prompt' in t else '') for k,t in (C.get('pricing_tiers') or {}).items()}
        out['models']={m['id']:(m.get('pricing') if isinstance(m.get('pricing'),(str,type(None))) else 'inline:'+json.dumps(m.get('pricing'))) for m in C['models']}
    out['flags']=[k for k,x in F.items() if x is True]
    out['fasttable']=d['anchors'].get('fasttable')
    return out
for v in sys.argv[1:]:
    print(json.dumps(summ(v)))
