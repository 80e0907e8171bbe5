import re
class P:
    def __init__(s,t,i): s.t=t; s.i=i
    def ws(s):
        while s.i<len(s.t) and s.t[s.i] in ' \t\r\n': s.i+=1
    def val(s):
        s.ws(); c=s.t[s.i]
        if c=='{': return s.obj()
        if c=='[': return s.arr()
        if c in '"\'`': return s.str_()
        if s.t.startswith('!0',s.i): s.i+=2; return True
        if s.t.startswith('!1',s.i): s.i+=2; return False
        for w,v in (('true',True),('false',False),('null',None),('void 0',None),('undefined',None)):
            if s.t.startswith(w,s.i): s.i+=len(w); return v
        m=re.compile(r'[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?').match(s.t,s.i)
        if m: s.i=m.end(); x=float(m.group(0)); return int(x) if x.is_integer() and 'e' not in m.group(0).lower() and '.' not in m.group(0) else x
        raise ValueError('unexpected %r'%s.t[s.i:s.i+30])
    def str_(s):
        q=s.t[s.i]; s.i+=1; out=[]
        while True:
            c=s.t[s.i]; s.i+=1
            if c==q: return ''.join(out)
            if c=='\\':
                e=s.t[s.i]; s.i+=1
                if e=='u':
                    if s.t[s.i]=='{':
                        j=s.t.index('}',s.i); out.append(chr(int(s.t[s.i+1:j],16))); s.i=j+1
                    else: out.append(chr(int(s.t[s.i:s.i+4],16))); s.i+=4
                elif e=='x': out.append(chr(int(s.t[s.i:s.i+2],16))); s.i+=2
                else: out.append({'n':'\n','t':'\t','r':'\r','b':'\b','f':'\f','v':'\v','0':'\0'}.get(e,e))
            else:
                if q=='`' and c=='$' and s.t[s.i]=='{': raise ValueError('template')
                out.append(c)
    def key(s):
        s.ws(); c=s.t[s.i]
        if c in '"\'': return s.str_()
        if c=='[': raise ValueError('computed key')
        m=re.compile(r'[\w$]+').match(s.t,s.i)
        if not m: raise ValueError('bad key %r'%s.t[s.i:s.i+30])
        s.i=m.end(); return m.group(0)
    def obj(s):
        s.i+=1; o={}
        while True:
            s.ws()
            if s.t[s.i]=='}': s.i+=1; return o
            k=s.key(); s.ws()
            if s.t[s.i]!=':': raise ValueError('expected : got %r'%s.t[s.i:s.i+30])
            s.i+=1; o[k]=s.val(); s.ws()
            if s.t[s.i]==',': s.i+=1
    def arr(s):
        s.i+=1; a=[]
        while True:
            s.ws()
            if s.t[s.i]==']': s.i+=1; return a
            a.append(s.val()); s.ws()
            if s.t[s.i]==',': s.i+=1
def parse_at(t,i):
    p=P(t,i); v=p.val(); return v,p.i
def find_catalog(s):
    for m in re.finditer(r'pricing_tiers:\{',s):
        j=s.rfind('schema_version',max(0,m.start()-2000),m.start())
        if j<0: continue
        k=s.rfind('={',max(0,m.start()-3000),j)
        if k<0: continue
        try:
            v,_=parse_at(s,k+1)
            if isinstance(v,dict) and 'models' in v: return v
        except Exception as e:
            pass
    return None
def find_catalog2(s):
    """Any baked model catalog literal: {..., schema_version:N, [pricing_tiers:{...},] models:[...]}"""
    for m in re.finditer(r'schema_version:\d+,(?:pricing_tiers|models):',s):
        k=s.rfind('={',max(0,m.start()-3000),m.start())
        if k<0: continue
        try:
            v,_=parse_at(s,k+1)
            if isinstance(v,dict) and 'models' in v: return v
        except Exception as e:
            pass
    return None
