OPUS_DEFAULT={'2.1.129','2.1.140','2.1.154','2.1.160','2.1.170','2.1.172','2.1.179'}
import json,re
exec(open('/tmp/cc/short.py').read())
def tokcost(p,u,one_hour=False):
    cw=u.get('cache_creation_input_tokens',0)
    if one_hour and p.get('cache_write_1h') is not None:
        h=min(u.get('cache_creation',{}).get('ephemeral_1h_input_tokens',0),cw)
        w = cw/1e6*p['cache_write_5m'] if h<=0 else h/1e6*p['cache_write_1h']+(cw-h)/1e6*p['cache_write_5m']
        return u.get('input_tokens',0)/1e6*p['input']+u.get('output_tokens',0)/1e6*p['output']+u.get('cache_read_input_tokens',0)/1e6*p['cache_read']+w+u.get('server_tool_use',{}).get('web_search_requests',0)*p['web_search']
    return u.get('input_tokens',0)/1e6*p['input']+u.get('output_tokens',0)/1e6*p['output']+u.get('cache_read_input_tokens',0)/1e6*p['cache_read']+cw/1e6*p['cache_write_5m']+u.get('server_tool_use',{}).get('web_search_requests',0)*p['web_search']
def same(p,q): return all(p.get(k)==q.get(k) for k in ('input','output','cache_write_5m','cache_read'))
def legacy_cost(rs,model,u,default_model=None):
    if default_model is None:
        default_model='claude-opus-4-7' if rs['first'] in OPUS_DEFAULT else 'claude-sonnet-4-6'
    key=apply_short(rs['key_steps'],model)
    prompt=u.get('input_tokens',0)+u.get('cache_read_input_tokens',0)+u.get('cache_creation_input_tokens',0)
    fast=rs.get('fast'); P=rs['prices']
    ws=0.01 if rs['first'] not in ('1.0.0','1.0.4') else 0
    def wsfix(p): p=dict(p); p['web_search']=ws; return p
    if fast and key=='claude-opus-4-6' and rs['first'] in ('2.1.38','2.1.41','2.1.42','2.1.45','2.1.50','2.1.63','2.1.72','2.1.73'):
        isfast=u.get('speed')=='fast' and rs['first']!='2.1.38'
        long=prompt>200000
        if isfast:
            if rs['first'] in('2.1.50','2.1.63','2.1.72','2.1.73'): return tokcost(fast['prices'],u)
            p=fast['prices_long'] if long else fast['prices']
            if rs['first'] in ('2.1.38','2.1.41','2.1.42'): p={k:(v*0.5 if k!='web_search' else v) for k,v in p.items()}
            return tokcost(p,u)
        return tokcost(wsfix(rs['long_context']['replace_with']['5/25']) if long else P[key],u)
    if fast and u.get('speed')=='fast':
        fk=None
        if 'prices_by_key' in fast:
            if key in ('claude-opus-4-6','claude-opus-4-7','claude-opus-4-8'): fk=fast['prices_by_key'].get(key) or fast['prices_by_key']['other']
        elif key=='claude-opus-4-6': fk=fast['prices']
        if fk: return tokcost(fk,u,rs.get('cache_write_1h'))
    p=P.get(key)
    if p is None:
        dm=rs['unknown_model']['default_model']
        dk=apply_short(rs['key_steps'], dm if dm.startswith('claude-') else default_model)
        p=P.get(dk) or {'input':5,'output':25,'cache_write_5m':6.25,'cache_read':0.5,'web_search':0.01}
        return tokcost(wsfix(p),u,rs.get('cache_write_1h'))
    lc=rs.get('long_context')
    if lc and 'replace_with' in lc and prompt>200000:
        for tier,alt in lc['replace_with'].items():
            i,o=map(float,tier.split('/'))
            if p['input']==i and p['output']==o: p=alt; break
    return tokcost(wsfix(p),u,rs.get('cache_write_1h'))
