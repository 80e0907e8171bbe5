import json,sys,os
exec(open('/tmp/cc/sig2.py').read().split("if __name__")[0])
vs=json.load(open('/work/research/pricing/versions.json'))
log=open('/tmp/cc/bisect3.log','a')
def L(*a): print(*a,file=log,flush=True)
cache={}
def S(v):
    if v not in cache:
        x=sig2(v); cache[v]=None if x is None else {k:x[k] for k in ('cat','flags','objs','code')}; L('sig',v,json.dumps(x))
    return cache[v]
def bis(a,b):
    ia,ib=vs.index(a),vs.index(b); sa,sb=S(a),S(b)
    if sa==sb: return
    if ib-ia<=1: L('CHANGE',a,'->',b,' '.join(k for k in sa if sa[k]!=sb[k])); return
    m=vs[(ia+ib)//2]; sm=S(m)
    if sm is None: L('GAP',a,b); return
    bis(a,m); bis(m,b)
pts=sys.argv[1:]
for a,b in zip(pts,pts[1:]): bis(a,b)
L('DONE',pts)
