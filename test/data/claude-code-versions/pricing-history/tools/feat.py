import re, sys, json
exec(open('/tmp/cc/lib.py').read())
NUM=r'-?[\d.]+(?:e-?\d+)?'
def feats(v):
    s=load(v)
    F={'version':v}
    # cost function: first function whose body has input_tokens/1e6*
    i=s.find('input_tokens/1e6*')
    r=enclosing_func(s,i) if i>=0 else None
    F['costfn']=r[1][:1500] if r else None
    F['web_search_in_cost']=bool(re.search(r'web_search_requests\?\?0\)\*[\w$]+\.webSearchRequests',s))
    F['discount']='tengu_model_cost_discount' in s
    F['long_200k']=bool(re.search(r'>(?:200000|2e5|200_000)\)?return ?\{?[\w$]*',s)) and bool(re.search(r'inputTokens:6,outputTokens:22\.5',s))
    m=re.search(r'function [\w$]+\([\w$]+,[\w$]+\)\{[^{}]{0,200}>(?:200000|2e5)\)return[^}]{0,200}',s)
    F['long_200k_code']=m.group(0) if m else None
    F['fast_in_cost']=bool(re.search(r'speed==="fast"',s[max(0,s.find('tengu_unknown_model_cost')-3000):s.find('tengu_unknown_model_cost')+500]))
    F['cache_1h']='promptCacheWrite1hTokens' in s
    F['geo']=bool(re.search(r'inference_geo==="us"\?',s))
    F['long_prompt']='abovePromptTokens' in s
    F['additionalModelCostsCache']='additionalModelCostsCache' in s
    F['fetchedModelCosts']='fetchedModelCosts' in s
    F['catalog']='pricing_tiers' in s
    F['orgPricing']='orgPricing' in s
    F['modelPricing']='modelPricing' in s
    F['iterations_cost']=bool(re.search(r'iterations\.filter\(\([\w$]+\)=>[\w$]+\?\.type==="message"\)',s))
    F['costUSD_in_msg']=bool(re.search(r'\},costUSD:[\w$]+,durationMs:[\w$]+,type:"assistant"',s))
    F['requestedModel']='requestedModel' in s
    F['unknown_marker']='markUnknownModelCost' in s and 'markUnknown' or ('hasUnknownModelCost' in s and 'hasUnknown')
    objs=set()
    for m in re.finditer(r'\{inputTokens:'+NUM+r',outputTokens:'+NUM+r'(?:,[a-zA-Z0-9]+:'+NUM+r')*\}',s):
        objs.add(m.group(0))
    F['price_objs']=sorted(objs)
    return F
if __name__=='__main__':
    for v in sys.argv[1:]:
        F=feats(v); json.dump(F,open(f'/tmp/cc/ex/{v}.feat.json','w'),indent=1)
        flags=[k for k,x in F.items() if x is True]
        print(v,' '.join(flags),'| objs',len(F['price_objs']))
