import json,re,os
exec(open('/tmp/cc/gen_legacy.py').read().split("if __name__")[0])
vs=json.load(open('/work/research/pricing/versions.json'))
P=lambda i,o,cw,cr,ws=0.01,cw1h=None: {k:v for k,v in dict(input=i,output=o,cache_write_5m=cw,cache_write_1h=cw1h,cache_read=cr,web_search=ws).items() if v is not None}
LONG_SONNET={'threshold_tokens':200000,'compare':'>','counts':['input_tokens','cache_read_input_tokens','cache_creation_input_tokens'],
  'applies_when':'the looked-up price is the shared 3/15 price object (every model whose key maps to 3/15; NOT the unknown-model fallback)',
  'replace_with':{'3/15':P(6,22.5,7.5,0.6)},'scope':'whole request: every token count is priced at the long prices'}
LONG_V2=dict(LONG_SONNET, applies_when='looked-up price is the shared 3/15 object or the shared 5/25 object (not the unknown-model fallback); any other price above the line is kept but flags hasUnknownModelCost',
  replace_with={'3/15':P(6,22.5,7.5,0.6),'5/25':P(10,37.5,12.5,1)})
FAST_OPUS46_V1={'models':['claude-opus-4-6 (key)'],'trigger':'usage.research_preview_2026_02 !== undefined','available':'GrowthBook/Statsig flag tengu_penguins_enabled (default true)',
  'prices':P(30,150,37.5,3),'prices_long':P(60,225,75,6),'long_rule':'prompt (input+cache read+cache write) > 200000',
  'promo':'flag tengu_penguin_mode_promo (default {discountPercent:50,endDate:"Feb 16"}): when discountPercent != 0 every token price (not web search) x (100-discountPercent)/100',
  'not_fast':'opus-4-6 otherwise: 5/25, above 200000 -> 10/37.5/12.5/1'}
FAST_V2=dict(FAST_OPUS46_V1,trigger='usage.research_preview_2026_02 !== undefined || usage.speed === "fast"')
FAST_V3=dict(FAST_OPUS46_V1,trigger='usage.speed === "fast"')
FAST_V3B=dict(FAST_V3,promo='flag tengu_penguin_mode_promo now defaults to null: no discount unless the server-side flag (cached in ~/.claude.json) sets discountPercent')
FAST_V4={'models':['claude-opus-4-6 (key)'],'trigger':'usage.speed === "fast"','available':'!CLAUDE_CODE_DISABLE_FAST_MODE && flag tengu_penguins_enabled (default true)','prices':P(30,150,37.5,3),'long_rule':'none for fast (fast wins); not fast: above 200000 -> 10/37.5/12.5/1'}
FAST_V5={'models':['claude-opus-4-6 (key)'],'trigger':'usage.speed === "fast"','available':'!CLAUDE_CODE_DISABLE_FAST_MODE (from some release in 2.1.81-2.1.96 also: provider is firstParty, i.e. no CLAUDE_CODE_USE_BEDROCK/VERTEX/FOUNDRY/...)','prices':P(30,150,37.5,3)}
FAST_V6=dict(FAST_V5,models=['claude-opus-4-6','claude-opus-4-7 only when CLAUDE_CODE_ENABLE_OPUS_4_7_FAST_MODE is truthy'])
FAST_V7=dict(FAST_V5,models=['claude-opus-4-6','claude-opus-4-7 only when CLAUDE_CODE_ENABLE_OPUS_4_7_FAST_MODE is truthy and CLAUDE_CODE_OPUS_4_6_FAST_MODE_OVERRIDE is not'])
FAST_V8={'models':['claude-opus-4-6','claude-opus-4-7 and claude-opus-4-8 unless CLAUDE_CODE_OPUS_4_6_FAST_MODE_OVERRIDE is truthy'],'trigger':'usage.speed === "fast"','available':'firstParty provider && !CLAUDE_CODE_DISABLE_FAST_MODE',
  'prices_by_key':{'claude-opus-4-8':P(10,50,12.5,1),'other':P(30,150,37.5,3)}}
FAST_V9={'models':['any model whose alias-resolved, lower-cased id contains opus-4-6, opus-4-7 or opus-4-8'],'trigger':'usage.speed === "fast"','available':'firstParty provider && !CLAUDE_CODE_DISABLE_FAST_MODE',
  'prices_by_key':{'claude-opus-4-8':P(10,50,12.5,1),'other':P(30,150,37.5,3)}}
FAST_V10={'models':['keys claude-opus-4-6, claude-opus-4-7, claude-opus-4-8'],'trigger':'usage.speed === "fast"','available':'no check',
  'prices_by_key':{'claude-opus-4-8':P(10,50,12.5,1),'claude-opus-4-6':P(30,150,37.5,3),'claude-opus-4-7':P(30,150,37.5,3)}}
DISCOUNT={'when':'~/.claude.json isQualifiedForDataSharing === true (and IS_DEMO unset), not Bedrock/Vertex, and the priced model string equals one of the exact first-party ids listed',
  'delta_per_million':{'input':-0.9,'output':0,'cache_write_5m':-1.125,'cache_read':-0.09},'models_exact':None,
  'note':'added to whatever price was looked up (also Opus: 15-0.9=14.1); the sticker (undiscounted) cost is only telemetry'}
SETS=[
 dict(first='1.0.0', model='response message.model (API response)', transcript_costUSD=True, discount=dict(DISCOUNT,models_exact=['claude-opus-4-20250514','claude-sonnet-4-20250514','claude-3-7-sonnet-20250219','claude-3-5-sonnet-20241022']), web_search=False, note='Base rules. Each assistant transcript line carries costUSD (the discounted/final cost of the whole API response, repeated on the response\'s line).'),
 dict(first='1.0.4', note='costUSD no longer written to transcript lines; pricing unchanged'),
 dict(first='1.0.37', web_search=True, note='web search $0.01 per server_tool_use.web_search_requests'),
 dict(first='1.0.69', note='Opus 4.1 added; key function gains includes("claude-opus-4-1")/includes("claude-opus-4") rules; discount list gains claude-opus-4-1-20250805', discount=dict(DISCOUNT,models_exact=['claude-opus-4-20250514','claude-opus-4-1-20250805','claude-sonnet-4-20250514','claude-3-7-sonnet-20250219','claude-3-5-sonnet-20241022'])),
 dict(first='1.0.72', note='prices the requested model (preNormalizedModel) instead of the response model; a >200000-token hook appears but returns the same price', model='requested model (the model string Claude Code sent: preNormalizedModel / options.model)', long_context={'threshold_tokens':200000,'note':'hook present but returns the same 3/15 object: no price change'}),
 dict(first='1.0.76', long_context=LONG_SONNET, note='long context: a request priced with the 3/15 object whose input+cache read+cache write > 200000 is priced wholly at 6/22.5/7.5/0.6'),
 dict(first='1.0.108', bedrock_profile=True, note='Bedrock application-inference-profile ARNs are resolved (AWS call) to the backing model id before lookup; the discount check still uses the unresolved string'),
 dict(first='2.0.19', note='Haiku 4.5 added (1/5/1.25/0.1)'),
 dict(first='2.0.22', discount=None, note='data-sharing discount removed (2.0.30 moves cost to message_delta; same prices)'),
 dict(first='2.0.51', note='Opus 4.5 added (5/25/6.25/0.5); key rule includes("claude-opus-4-5")'),
 dict(first='2.1.31', note='keys for Sonnet 4.5/Sonnet 4/Haiku 4.5 by includes(); claude-sonnet-4-5 priced with the 5/25 object (was 3/15 via key "claude-sonnet")'),
 dict(first='2.1.32', note='Opus 4.6 added (5/25)'),
 dict(first='2.1.38', long_context=LONG_V2, fast=FAST_OPUS46_V1, note='opus-4-6 gets its own branch (fast + long); long-context extended to the 5/25 object'),
 dict(first='2.1.41', fast=FAST_V2),
 dict(first='2.1.42', fast=FAST_V3),
 dict(first='2.1.45', fast=FAST_V3B, note='Sonnet 4.6 added with the 5/25 object; fast-mode promo flag default becomes null (no 50% discount by default)'),
 dict(first='2.1.50', fast=FAST_V4),
 dict(first='2.1.63', unknown='runtime', note='unknown model: price of the key of the current default main-loop model, else the 5/25 object'),
 dict(first='2.1.72', note='Sonnet 4.5 and 4.6 back to 3/15'),
 dict(first='2.1.73', overrides_reverse=True, note='key function: settings.modelOverrides reverse-mapped first, lower-cased, adds claude-3-* rules'),
 dict(first='2.1.75', long_context=None, fast=FAST_V5, note='long-context pricing removed'),
 dict(first='2.1.84', advisor=True, note='usage.iterations entries of type advisor_message are priced as their own model (iteration.model, the iteration\'s own counts, same rules) and added to the response cost'),
 dict(first='2.1.97', additional_costs=True, note='~/.claude.json additionalModelCostsCache consulted after the built-in table; key function ends with replace(/-\\d{8}$/,"")'),
 dict(first='2.1.111', note='Opus 4.7 added (5/25)'),
 dict(first='2.1.116', note='key rules /claude-opus-4(?!-\\d(?!\\d))/ -> claude-opus-4-0 and /claude-sonnet-4(?!-\\d(?!\\d))/ -> claude-sonnet-4-0 (so e.g. claude-opus-4-9 is no longer Opus 4)'),
 dict(first='2.1.129', fast=FAST_V6, note='fast pricing may also cover Opus 4.7 (env); the default main-loop model for first-party/anthropicAws API users becomes Opus, so unknown models now price as Opus (5/25)'),
 dict(first='2.1.140', fast=FAST_V7),
 dict(first='2.1.154', fast=FAST_V8, note='Opus 4.8 added (5/25; fast 10/50)'),
 dict(first='2.1.160', fast=FAST_V9),
 dict(first='2.1.170', note='Fable 5 and Mythos 5 added (10/50/12.5/1)'),
 dict(first='2.1.172', cache_1h=True, note='1-hour cache writes priced apart: cache_creation.ephemeral_1h_input_tokens (capped at cache_creation_input_tokens) x cache_write_1h, the rest x cache_write_5m'),
 dict(first='2.1.179', fast=FAST_V10),
]
def build():
    out=[]; state={}
    starts=[s['first'] for s in SETS]
    for i,s in enumerate(SETS):
        state.update({k:v for k,v in s.items() if k not in('first','note')})
        first=s['first']
        nxt=starts[i+1] if i+1<len(SETS) else '2.1.196'
        last=vs[vs.index(nxt)-1]
        a=auto(first)
        prices=a['prices']
        if not state.get('web_search',True) or ('web_search' in state and state['web_search'] is False):
            for p in prices.values(): p['web_search']=0
        d={'first':first,'last':last,'changes_from_previous':s.get('note'),
           'model_priced':state.get('model'),
           'key_steps':a['key_steps'],
           'pre_key_steps':[x for x,f in [('settings.modelOverrides reverse mapping (a value equal to the model string maps back to its key)', state.get('overrides_reverse')),('Bedrock application-inference-profile ARN resolved to its backing model', state.get('bedrock_profile'))] if f],
           'prices':prices,
           'unknown_model':({'price':'prices[key(%s)] (Sonnet 4; never long-context)'%a['unknown_default_model'],'default_model':a['unknown_default_model']} if state.get('unknown')!='runtime' else
                            {'price':'prices[key(default main-loop model)] ?? 5/25/6.25/0.5 (ws 0.01)','default_model':'Max or Team-premium (max_5x) subscribers: ANTHROPIC_DEFAULT_OPUS_MODEL || Opus default; otherwise ANTHROPIC_DEFAULT_SONNET_MODEL || Sonnet default (first party: Sonnet 4.6)'}),
           'unknown_flag':'sets hasUnknownModelCost (the /cost and exit summary say "costs may be inaccurate")',
           'long_context':state.get('long_context'),
           'fast':state.get('fast'),
           'cache_write_1h':bool(state.get('cache_1h')),
           'inference_geo_multiplier':None,
           'additional_model_costs_cache':bool(state.get('additional_costs')),
           'discount':state.get('discount'),
           'advisor_iterations':bool(state.get('advisor')),
           'transcript_costUSD':bool(state.get('transcript_costUSD') and first=='1.0.0'),
        }
        out.append(d)
    return out
if __name__=='__main__':
    r=build(); json.dump(r,open('/tmp/cc/legacy_rules.json','w'),indent=1)
    for d in r: print(d['first'],d['last'],len(d['prices']),d['model_priced'][:20] if d['model_priced'] else None, bool(d['long_context']), bool(d['fast']), bool(d['discount']))
