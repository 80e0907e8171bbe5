import json,subprocess,sys,re,os
from concurrent.futures import ThreadPoolExecutor
exec(open('/tmp/cc/ref.py').read())
R=json.load(open('/tmp/cc/legacy_rules.json'))
PROBES=[
 ('A','claude-sonnet-4-20250514',{'input_tokens':123456,'output_tokens':54321,'cache_creation_input_tokens':23456,'cache_read_input_tokens':34567,'server_tool_use':{'web_search_requests':2}}),
 ('B','claude-sonnet-4-20250514',{'input_tokens':180000,'output_tokens':7777,'cache_creation_input_tokens':5000,'cache_read_input_tokens':30000,'server_tool_use':{'web_search_requests':1}}),
 ('C','my-proxy-model',{'input_tokens':250000,'output_tokens':1000}),
 ('D','claude-opus-4-6',{'input_tokens':100000,'output_tokens':10000,'speed':'fast'}),
 ('E','claude-haiku-4-5-20251001',{'input_tokens':100000,'output_tokens':10000,'cache_read_input_tokens':5000}),
 ('F','claude-sonnet-4-5-20250929',{'input_tokens':250000,'output_tokens':1000}),
 ('G','claude-opus-4-1-20250805',{'input_tokens':1000,'output_tokens':1000,'cache_creation_input_tokens':100000,'cache_creation':{'ephemeral_1h_input_tokens':60000,'ephemeral_5m_input_tokens':40000}}),
]
def run(v,model,u):
    out=subprocess.run(['/tmp/cc/run/probe.sh',v,model,json.dumps(u)],capture_output=True,text=True,timeout=300).stdout
    m=re.search(r'cost (\S+)',out)
    try: return float(m.group(1)) if m else out[:200]
    except: return out[:200]
def job(args):
    rs,v,(pid,model,u)=args
    if pid=='D' and rs['first']<'2.1.32' and not rs['first'].startswith('2.1.'): return None
    if pid=='G' and rs['first'].startswith('2.1.') and int(rs['first'].split('.')[2])>=72: model='claude-opus-4-5-20251101'
    exp=legacy_cost(rs,model,u)
    got=run(v,model,u)
    return {'version':v,'set':rs['first'],'probe':pid,'model':model,'expected':exp,'actual':got,'ok':isinstance(got,float) and abs(got-exp)<1e-9}
VS=json.load(open('/work/research/pricing/versions.json')); vs_index=VS.index
vers=sys.argv[1:]
jobs=[]
for rs in R:
    for v in ([rs['first']] if not vers else [x for x in vers if vs_index(rs['first'])<=vs_index(x)<=vs_index(rs['last'])]):
        for p in PROBES: jobs.append((rs,v,p))
res=[]
with ThreadPoolExecutor(2) as ex:
    for r in ex.map(job,jobs):
        if r: res.append(r); print(json.dumps(r),flush=True)
json.dump(res,open(os.environ.get('VOUT','/tmp/cc/verify_legacy.json'),'w'),indent=1)
