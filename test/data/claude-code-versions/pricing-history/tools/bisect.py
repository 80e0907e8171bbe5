import json,sys
exec(open('/tmp/cc/sig.py').read())
vs=json.load(open('/work/research/pricing/versions.json'))
log=open(os.environ.get('BLOG','/tmp/cc/bisect.log'),'a')
def L(*a):
    print(*a,file=log,flush=True)
cache={}
def S(v):
    if v not in cache:
        cache[v]=sig(v); L('sig',v,json.dumps(cache[v]))
    return cache[v]
def idx(v): return vs.index(v)
def bis(a,b):
    ia,ib=idx(a),idx(b)
    sa,sb=S(a),S(b)
    if sa==sb: return
    if ib-ia<=1:
        L('CHANGE',a,'->',b,' '.join(k for k in sa if sa[k]!=sb[k])); return
    m=vs[(ia+ib)//2]
    sm=S(m)
    if sm is None:  # skip unavailable: try neighbour
        m=vs[(ia+ib)//2+1]; sm=S(m)
        if sm is None or idx(m)>=ib: L('GAP',a,b); return
    bis(a,m); bis(m,b)
pts=sys.argv[1:]
for a,b in zip(pts,pts[1:]): bis(a,b)
L('DONE',pts)
