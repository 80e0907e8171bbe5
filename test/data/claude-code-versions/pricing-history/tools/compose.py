import json,os
exec(open('/tmp/cc/short.py').read())
vs=json.load(open('/work/research/pricing/versions.json'))
L=json.load(open('/tmp/cc/legacy_rules.json')); N=json.load(open('/tmp/cc/native_rules.json'))
def keysteps_near(v):
    i=vs.index(v)
    for j in range(i,-1,-1):
        p=f'/tmp/cc/ex/{vs[j]}.json'
        if os.path.exists(p):
            R=json.load(open(p))
            fs=[b for b in R['funcs'].values() if '.includes("claude-' in b]
            if fs: return vs[j],parse_short(fs[0])
    return None,None
for d in N:
    src,st=keysteps_near(d['first'])
    d['key_steps']=st; d['key_steps_read_from']=src
    d['pre_key_steps']=['lower-case; exact lookup among all catalog provider ids (any provider) -> catalog id; non-"us" Bedrock regional prefix retried as its us. twin'] + (['2.1.332-style resolution: [1m]/[2m] tags, ARN/gateway path tail, anthropic./region prefixes, dated ids, modelOverrides (see /work/main/src/prices.ts resolveModel)'] if vs.index(d['first'])>=vs.index('2.1.206') else [])
out={
 'about':'Claude Code response-cost rules by version, 1.0.0 -> 2.1.332, read from the shipped JS (cli.js up to 2.1.112; the Bun binary of @anthropic-ai/claude-code-linux-x64 from 2.1.113) and checked against the real CLIs run with `claude -p --output-format json` against a local API stand-in. Prices are USD per million tokens; web_search is USD per request.',
 'cost_expression':{
  'legacy (1.0.0-2.1.171)':'in/1e6*P.input + out/1e6*P.output + (cache_read??0)/1e6*P.cache_read + (cache_creation??0)/1e6*P.cache_write_5m + (server_tool_use.web_search_requests??0)*P.web_search   [left to right, IEEE doubles; web_search term absent before 1.0.37]',
  '1h (2.1.172-2.1.238)':'in/1e6*P.input + out/1e6*P.output + cr/1e6*P.cache_read + W + ws*P.web_search, where h=min(cache_creation.ephemeral_1h_input_tokens??0, cw); W = (P.cache_write_1h undefined || h<=0) ? cw/1e6*P.cache_write_5m : h/1e6*P.cache_write_1h + (cw-h)/1e6*P.cache_write_5m',
  'geo (2.1.239-2.1.325)':'T = in/1e6*Q.input + out/1e6*Q.output + cr/1e6*Q.cache_read + W(Q);  cost = T*(usage.inference_geo==="us" ? 1.1 : 1) + ws*Q.web_search, Q = P, or P.long_prompt when present and in+cr+cw > above_prompt_tokens (2.1.293+); from 2.1.311 h is clamped to [0,cw]',
  'iterations (2.1.326-2.1.332)':'as geo, but when P has long_prompt and usage.iterations[type=message] counts add up to the response, T is the sum over those steps (each with its own long-line test and W); web search uses the base price; then advisor_message iterations are priced as their own model and added (since 2.1.84)',
  'turn/session total':'Claude Code adds each response cost into a running float sum; roundUsd to 1e-6 only for display',
 },
 'key_step_ops':{'lower':'lower-case the string','includes':'if the string contains s, key = key','test':'if the JS regex matches, key = key','match_group1':'first match of the regex anywhere in the string; key = group 1 (JS \\w = [A-Za-z0-9_])','replace':'key = string with the regex (first match) replaced; always returns','identity':'key = the string'},
 'transcript_facts':{
   'costUSD_on_assistant_lines':['1.0.0','1.0.3'],
   'requestedModel_on_assistant_lines_from':'2.1.295',
   'priced_model':{'1.0.0-1.0.71':'response message.model','1.0.72-2.1.332':'requested model (message.model is the best proxy before 2.1.295)'},
   'stale_usage_on_lines':{'versions':['2.1.8','2.1.58'],'what':'assistant lines carry the message_start usage (output_tokens from stream start); Claude Code itself prices the final merged usage; observed with the stand-in'},
 },
 'unknown_model_default':{'1.0.0-2.1.62':'claude-sonnet-4-20250514 price (3/15/3.75/0.3)','2.1.63-2.1.128':'price of the default main-loop model (API-key users: Sonnet 4.6; Max/Team-max5x: Opus) ?? 5/25','2.1.129-2.1.332':'same, default main-loop model for first-party API users is Opus (observed 5/25 up to 2.1.239, 4/20 at 2.1.293 and 2.1.332)'},
 'pin_recommendation':{'version':'1.0.128','why':'last 1.0 release, plain cli.js, runs `claude -p --output-format json` against standin.mjs via ANTHROPIC_BASE_URL offline, fires Stop/SessionEnd hooks with transcript_path, final usage in transcript; rule set 1.0.108-2.0.15 (regex key, 3/15 long context >200000, requested model, no 1h/geo/fast, unknown -> Sonnet 4, optional data-sharing discount)','example':{'model':'claude-sonnet-4-20250514','usage':{'input_tokens':250000,'output_tokens':1000},'total_cost_usd':1.5225}},
 'verification':{'runs':283,'files':['verification/verify_legacy.json','verification/verify_legacy2.json','verification/verify_native.json'],'result':'all rule sets reproduce total_cost_usd bit-for-bit; mismatches in the raw files are harness artifacts or the native unknown-model default, see FINDINGS.md section 9'},
 'rule_sets':L+N,
}
json.dump(out,open('/work/research/pricing/rules.json','w'),indent=1)
print(len(out['rule_sets']),'sets')
