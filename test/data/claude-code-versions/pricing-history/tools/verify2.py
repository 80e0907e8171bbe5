import json,subprocess,sys,re
from concurrent.futures import ThreadPoolExecutor
exec(open('/tmp/cc/ref.py').read())
N={d['first']:d for d in json.load(open('/tmp/cc/native_rules.json'))}
vs=json.load(open('/work/research/pricing/versions.json'))
def nset(v):
    best=None
    for f,d in N.items():
        if vs.index(f)<=vs.index(v): 
            if best is None or vs.index(f)>vs.index(best['first']): best=d
    return best
def native_cost(rs,model,u):
    P=rs['prices']
    # key: catalog id by provider id / includes
    key=None
    for cid,p in P.items():
        ids=[cid]+list((p.get('provider_ids') or {}).values())+[p.get('first_party_id')]
        if model.lower() in [x.lower() for x in ids if x]: key=cid
    if key is None:
        for cid in sorted(P,key=len,reverse=True):
            if cid in model.lower(): key=cid; break
    if key is None: key='claude-sonnet-4-6'  # API-key user default model
    p=dict(P[key])
    fast=rs['fast']['prices_by_model']
    if u.get('speed')=='fast' and key in fast: p=fast[key]
    prompt=u.get('input_tokens',0)+u.get('cache_read_input_tokens',0)+u.get('cache_creation_input_tokens',0)
    ws=u.get('server_tool_use',{}).get('web_search_requests',0)*p['web_search']
    lp=p.get('long_prompt')
    q=lp if lp and prompt>lp['above_prompt_tokens'] else p
    t=tokcost(dict(q,web_search=0),u,True)
    g=1.1 if rs.get('inference_geo_multiplier') and u.get('inference_geo')=='us' else 1
    return t*g+ws
PROBES=[
 ('A','claude-sonnet-4-20250514',{'input_tokens':123456,'output_tokens':54321,'cache_creation_input_tokens':23456,'cache_read_input_tokens':34567,'server_tool_use':{'web_search_requests':2}}),
 ('C','my-proxy-model',{'input_tokens':250000,'output_tokens':1000}),
 ('D','claude-opus-4-6',{'input_tokens':100000,'output_tokens':10000,'speed':'fast'}),
 ('G','claude-opus-4-5-20251101',{'input_tokens':1000,'output_tokens':1000,'cache_creation_input_tokens':100000,'cache_creation':{'ephemeral_1h_input_tokens':60000,'ephemeral_5m_input_tokens':40000}}),
 ('H','claude-sonnet-5',{'input_tokens':100000,'output_tokens':10000,'inference_geo':'us','server_tool_use':{'web_search_requests':1}}),
 ('I','claude-haiku-5-5',{'input_tokens':150000,'output_tokens':10000}),
]
def run(v,model,u):
    out=subprocess.run(['/tmp/cc/run/probe.sh',v,model,json.dumps(u)],capture_output=True,text=True,timeout=400).stdout
    m=re.search(r'cost (\S+)',out)
    try: return float(m.group(1)) if m else out[:200]
    except: return out[:200]
def job(a):
    v,(pid,model,u)=a; rs=nset(v)
    if pid=='I' and 'claude-haiku-5-5' not in rs['prices']: return None
    if pid=='H' and 'claude-sonnet-5' not in rs['prices']: return None
    exp=native_cost(rs,model,u); got=run(v,model,u)
    return {'version':v,'set':rs['first'],'probe':pid,'model':model,'expected':exp,'actual':got,'ok':isinstance(got,float) and abs(got-exp)<1e-9}
vers=sys.argv[1:]
res=[]
for v in vers:
    subprocess.run(['/tmp/cc/run/install.sh',v])
    with ThreadPoolExecutor(2) as ex:
        for r in ex.map(job,[(v,p) for p in PROBES]):
            if r: res.append(r); print(json.dumps(r),flush=True)
json.dump(res,open('/tmp/cc/verify_native.json','w'),indent=1)
