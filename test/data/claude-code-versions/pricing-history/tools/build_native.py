import json,re,sys
exec(open('/tmp/cc/natfast.py').read().split("for v in sys.argv")[0])
exec(open('/tmp/cc/gen_legacy.py').read().split("if __name__")[0])
vs=json.load(open('/work/research/pricing/versions.json'))
KEYS=('input','output','cache_write_5m','cache_write_1h','cache_read','web_search')
def cparse(c):
    m=re.match(r'P\{(.*)\}',c); ab={'in':'input','out':'output','cw5m':'cache_write_5m','cw1h':'cache_write_1h','cr':'cache_read','ws':'web_search'}
    d={}
    for kv in m.group(1).split():
        k,v=kv.split('='); x=float(v); d[ab[k]]=int(x) if x==int(x) else x
    return d
def catalog_prices(v):
    C=json.load(open(f'/tmp/cc/ex/{v}.native.json'))['catalog']
    tiers=C.get('pricing_tiers') or {}
    out={}
    for m in C['models']:
        p=m.get('pricing')
        t=tiers.get(p) if isinstance(p,str) else p
        if not t: continue
        d={k:t[k] for k in KEYS if k in t}
        if 'long_prompt' in t:
            lp=t['long_prompt']; d['long_prompt']={'above_prompt_tokens':int(lp['above_prompt_tokens']),**{k:lp[k] for k in KEYS if k in lp}}
        out[m['id']]={'tier':p if isinstance(p,str) else 'inline','provider_ids':{k:x for k,x in m['provider_ids'].items() if x},**d}
    return out
GEO={'multiplier':1.1,'when':'usage.inference_geo === "us"','applies_to':'token cost only (input, output, cache read/write); web search added after'}
NSETS=[
 dict(first='2.1.196', note='key function first looks the lower-cased id up among every catalog provider id (first party, Bedrock, Vertex, Foundry, ...; a non-"us" Bedrock regional profile prefix eu./apac./jp./au./us-gov./global. is retried as its us. twin) and returns the catalog id; then the includes() rules; then strips -YYYYMMDD. Mythos 5 joins the catalog.'),
 dict(first='2.1.197', note='Sonnet 5 added (3/15)'),
 dict(first='2.1.206', catalog_prices=True, note='prices now come from the baked model catalog (pricing_tiers + models[].pricing); values unchanged'),
 dict(first='2.1.219', note='Opus 5 added (tier_5_25; fast 10/50)'),
 dict(first='2.1.239', geo=True, note='Sonnet 5 moves to tier_2_10; US-only inference multiplier 1.1 introduced'),
 dict(first='2.1.242', managed=True, note='managed-settings modelPricing (multiplier + per-model overrides) honoured'),
 dict(first='2.1.257', note='Fable 5.1 / Mythos 5.1 added (tier_10_50_cache_read_0_25); for ids whose identity resolution differs, additionalModelCostsCache is consulted first'),
 dict(first='2.1.277', note='non-fast responses: a server-driven model-alias experiment (GrowthBook, 2.1.332 calls it alder_ford) may price a model as another catalog model first'),
 dict(first='2.1.280', note='Opus 5.5 added (tier_4_20_cache_read_0_20; fast 8/40/10/16/0.4)'),
 dict(first='2.1.284', note='Sonnet 5.5 added (tier_2_10)'),
 dict(first='2.1.293', long_prompt=True, note='Haiku 5.5 added (haiku_55) with a long_prompt line: a response whose input+cache read+cache write > 100000 is priced wholly at 0.5/2.5/0.625/1/0.05'),
 dict(first='2.1.295', note='assistant transcript lines carry requestedModel (the model Claude Code asked for); pricing unchanged'),
 dict(first='2.1.296', note='Sonnet 5.5 moves to tier_2_10_cache_read_0_10'),
 dict(first='2.1.311', note='1-hour share of cache writes clamped to [0, cache_creation_input_tokens] (was min only)'),
 dict(first='2.1.314', note='unknown-model fallback may also use runtime-fetched catalog pricing for the default model'),
 dict(first='2.1.326', note='long-prompt prices judged per usage.iterations[type=message] step when the steps add up to the response (1-hour writes the steps do not account for handed to them in order); server-fetched model costs (fetchedModelCosts) consulted before the baked table'),
 dict(first='2.1.321', note='Fable 5.2 / Mythos 5.2 added (tier_8_40_cache_read_0_20; fast 16/80/20/32/0.4)'),
]
def build(extra_sets=()):
    sets=sorted(list(NSETS)+list(extra_sets),key=lambda d:vs.index(d['first']))
    out=[]; st={}
    for i,s in enumerate(sets):
        st.update({k:v for k,v in s.items() if k not in('first','note')})
        first=s['first']; last=vs[vs.index(sets[i+1]['first'])-1] if i+1<len(sets) else '2.1.332'
        if st.get('catalog_prices'):
            prices=catalog_prices(first); src='baked catalog'
        else:
            base=auto('2.1.195'); prices=base['prices']; src='built-in table (keys = key(first-party id))'
            prices['claude-mythos-5']=dict(prices.get('claude-mythos-5') or prices['claude-fable-5'],first_party_id='claude-mythos-5')
            if first!='2.1.196': prices['claude-sonnet-5']={'first_party_id':'claude-sonnet-5','input':3,'output':15,'cache_write_5m':3.75,'cache_write_1h':6,'cache_read':0.3,'web_search':0.01}
        fast={k:cparse(x) for k,x in natfast(first).items()}
        out.append({'first':first,'last':last,'changes_from_previous':s.get('note'),'model_priced':'requested model (the model string Claude Code sent; from 2.1.295 recorded on the transcript line as requestedModel)',
          'price_source':src,'prices':prices,
          'fast':{'trigger':'usage.speed === "fast" (2.1.332: any speed other than "standard"/"fast" is treated as fast)','prices_by_model':fast,'otherwise':'normal price'},
          'cache_write_1h':True,'inference_geo_multiplier':GEO if st.get('geo') else None,
          'long_context':'per-price long_prompt line (whole response, > above_prompt_tokens)' if st.get('long_prompt') else None,
          'managed_model_pricing':bool(st.get('managed')),'additional_model_costs_cache':True,
          'unknown_model':{'price':'table[key(default main-loop model)] ?? 5/25/6.25/10/0.5 (ws 0.01)','flag':'hasUnknownModelCost / markUnknownModelCost'}})
    return out
if __name__=='__main__':
    r=build(); json.dump(r,open('/tmp/cc/native_rules.json','w'),indent=1)
    for d in r: print(d['first'],d['last'],len(d['prices']),sorted(d['fast']['prices_by_model']), d['price_source'][:15])
