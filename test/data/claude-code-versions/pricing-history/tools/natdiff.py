import json,sys
exec(open('/tmp/cc/natsum.py').read().split("for v in sys.argv")[0])
def nd(a,b):
    A,B=summ(a),summ(b)
    out=[]
    for k in ('tiers','models'):
        x,y=A.get(k) or {},B.get(k) or {}
        for kk in sorted(set(x)|set(y)):
            if x.get(kk)!=y.get(kk): out.append(f'{k}.{kk}: {x.get(kk)} -> {y.get(kk)}')
    fa,fb=set(A['flags']),set(B['flags'])
    if fa!=fb: out.append(f'flags -{sorted(fa-fb)} +{sorted(fb-fa)}')
    if A['fasttable']!=B['fasttable']: out.append(f'fast: {B["fasttable"]}')
    sa=json.load(open(f'/tmp/cc/ex/{a}.sig2.json'))['codeparts']; sb=json.load(open(f'/tmp/cc/ex/{b}.sig2.json'))['codeparts']
    ch=[k for k in set(sa)|set(sb) if sa.get(k)!=sb.get(k)]
    if ch: out.append(f'code parts changed: {sorted(ch)}')
    return out
if __name__=='__main__':
    pts=sys.argv[1:]
    for a,b in zip(pts[::2],pts[1::2]):
        print('##',a,'->',b); [print('  ',l[:400]) for l in nd(a,b)]
