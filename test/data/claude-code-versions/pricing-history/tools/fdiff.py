import json,sys
a,b=sys.argv[1:3]
A=json.load(open(f'/tmp/cc/ex/{a}.feat.json'));B=json.load(open(f'/tmp/cc/ex/{b}.feat.json'))
for k in A:
    if k in('version','costfn','price_objs'): continue
    if A[k]!=B.get(k): print('FLAG',k,A[k],'->',B.get(k))
pa,pb=set(A['price_objs']),set(B['price_objs'])
for p in pa-pb: print('-',p)
for p in pb-pa: print('+',p)
