import re, sys, json
ID=r'[\w$]+'
def match_brace(s, i, limit=None):
    # s[i]=='{' ; return index after matching '}' ; naive about strings
    depth=0; j=i; n=len(s) if limit is None else min(len(s), i+limit)
    instr=None
    while j<n:
        c=s[j]
        if instr:
            if c=='\\': j+=2; continue
            if c==instr: instr=None
        elif c in '"\'`': instr=c
        elif c=='{': depth+=1
        elif c=='}':
            depth-=1
            if depth==0: return j+1
        j+=1
    return n
def func_at(s, start):
    # start at 'function' keyword
    b=s.find('{',start)
    return s[start:match_brace(s,b)]
def enclosing_func(s,pos,limit=60000):
    k=pos
    for _ in range(60):
        k=s.rfind('function',max(0,pos-limit),k)
        if k<0: return None
        b=s.find('{',k)
        e=match_brace(s,b,limit)
        if e>=len(s) or (limit and e>=b+limit): continue
        if e>pos: return k, s[k:e]
    return None
def fdef(s,name):
    m=re.search(r'function '+re.escape(name)+r'\(',s)
    if m: return func_at(s,m.start())
    m=re.search(r'(?<![\w$.])'+re.escape(name)+r'=(\([^)]*\)|[\w$]+)=>',s)
    if m:
        return s[m.start():m.start()+400]
    return None
def vdef(s,name,maxlen=400):
    m=re.search(r'(?<![\w$.])'+re.escape(name)+r'=',s)
    if not m: return None
    i=m.end()
    if s[i]=='{': return s[m.start():match_brace(s,i)]
    return s[m.start():m.start()+maxlen]
def firstparty(s,name):
    m=re.search(r'(?<![\w$.])'+re.escape(name)+r'=\{[^{}]*?firstParty:"([^"]+)"',s)
    return m.group(1) if m else None

def main(v):
    s=open(f'/tmp/cc/js/{v}.js',encoding='utf-8',errors='replace').read()
    out=[]
    P=lambda *a: out.append(' '.join(str(x) for x in a))
    P('VERSION',v)
    costfns=[]
    for m in re.finditer(r'function ('+ID+r')\(('+ID+r'),('+ID+r')\)\{(?:let [^;]*;)?return (?:\(?\3\.input_tokens|\3\.input_tokens)',s):
        costfns.append(m.group(1)); P('\n## COSTFN',m.group(1)); P(func_at(s,m.start()))
    seen=set()
    for m in re.finditer(r'tengu_unknown_model_cost',s):
        r=enclosing_func(s,m.start())
        if not r: continue
        k,body=r
        if k in seen: continue
        seen.add(k)
        P('\n## UNKNOWN-ENCLOSING'); P(body)
        name=re.match(r'function ('+ID+r')',body).group(1)
        # callers
        for c in re.finditer(r'(?<![\w$.])'+re.escape(name)+r'\(',s):
            r2=enclosing_func(s,c.start())
            if r2 and r2[0]!=k and r2[0] not in seen:
                seen.add(r2[0]); P('\n## CALLER of',name); P(r2[1][:3000])
    # callers of costfns
    for cf in costfns:
        for c in re.finditer(r'(?<![\w$.])'+re.escape(cf)+r'\(',s):
            r2=enclosing_func(s,c.start())
            if r2 and r2[0] not in seen and not r2[1].startswith('function '+cf+'('):
                seen.add(r2[0]); P('\n## CALLER of',cf); P(r2[1][:3000])
    # price objects
    P('\n## PRICE OBJECTS')
    for m in re.finditer(r'('+ID+r')=(\{inputTokens:[^{}]*\})',s):
        P(m.group(1),'=',m.group(2))
    # maps keyed by firstParty
    P('\n## MAPS')
    for m in re.finditer(r'('+ID+r')=\{\[('+ID+r')\(('+ID+r')\.firstParty\)\]:',s):
        body=vdef(s,m.group(1))
        P(m.group(1),'=',body)
        for e in re.finditer(r'\[('+ID+r')\(('+ID+r')\.firstParty\)\]:(\{[^{}]*\}|'+ID+')',body):
            P('   ',firstparty(s,e.group(2)),'->',e.group(3),'(via',e.group(1)+')')
    open(f'/tmp/cc/ex/{v}.txt','w').write('\n'.join(out))
for v in sys.argv[1:]: main(v)
