import json,sys
exec(open('/tmp/cc/fp.py').read().split("if __name__")[0])
a,b=sys.argv[1:3]
A=json.load(open(f'/tmp/cc/ex/{a}.json'));B=json.load(open(f'/tmp/cc/ex/{b}.json'))
na={norm(x):k for k,x in A['funcs'].items()}; nb={norm(x):k for k,x in B['funcs'].items()}
for n,k in na.items():
    if n not in nb: print('ONLY',a,k,':',A['funcs'][k][:1500]);print()
for n,k in nb.items():
    if n not in na: print('ONLY',b,k,':',B['funcs'][k][:1500]);print()
ma={k:v[1] for k,v in A['map'].items()}; mb={k:v[1] for k,v in B['map'].items()}
for k in sorted(set(ma)|set(mb)):
    if ma.get(k)!=mb.get(k): print('MAP',k,a,ma.get(k),'|',b,mb.get(k))
pa=set(A['prices'].values()); pb=set(B['prices'].values())
for p in pa-pb: print('PRICE only',a,p)
for p in pb-pa: print('PRICE only',b,p)
