import re
def parse_short(fn):
    """Parse a Claude Code short-name function into ordered steps."""
    m=re.match(r'function [\w$]+\(([\w$]+)\)\{(.*)\}$',fn,re.S)
    a,body=m.group(1),m.group(2)
    A=re.escape(a)
    steps=[]
    if re.search(A+r'='+A+r'\.toLowerCase\(\)',body): steps.append({'op':'lower'})
    for mm in re.finditer(r'[(,]'+A+r'\.includes\("([^"]+)"\)\)return"([^"]+)"|[(,](/(?:\\.|[^/])+/[a-z]*)\.test\('+A+r'\)\)return"([^"]+)"|'+A+r'\.match\((/(?:\\.|[^/])+/[a-z]*)\)|return '+A+r'\.replace\((/(?:\\.|[^/])+/[a-z]*),"([^"]*)"\)',body):
        if mm.group(1): steps.append({'op':'includes','s':mm.group(1),'key':mm.group(2)})
        elif mm.group(3): steps.append({'op':'test','re':mm.group(3),'key':mm.group(4)})
        elif mm.group(5): steps.append({'op':'match_group1','re':mm.group(5)})
        elif mm.group(6): steps.append({'op':'replace','re':mm.group(6),'with':mm.group(7)})
    steps.append({'op':'identity'})
    return steps
def jsre(r):
    m=re.match(r'/(.*)/([a-z]*)$',r); pat=m.group(1)
    return re.compile(pat)
def apply_short(steps,s):
    for st in steps:
        if st['op']=='lower': s=s.lower()
        elif st['op']=='includes' and st['s'] in s: return st['key']
        elif st['op']=='test' and jsre(st['re']).search(s): return st['key']
        elif st['op']=='match_group1':
            mm=jsre(st['re']).search(s)
            if mm and mm.group(1): return mm.group(1)
        elif st['op']=='replace': return jsre(st['re']).sub(st['with'],s,count=1)
        elif st['op']=='identity': return s
    return s
