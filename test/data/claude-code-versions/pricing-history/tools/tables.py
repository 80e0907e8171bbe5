import json
R=json.load(open('/work/research/pricing/rules.json'))['rule_sets']
def fmt(p):
    s=f"{p['input']:g}/{p['output']:g}/{p['cache_write_5m']:g}/"+(f"{p['cache_write_1h']:g}" if p.get('cache_write_1h') is not None else '-')+f"/{p['cache_read']:g}/{p.get('web_search',0):g}"
    if 'long_prompt' in p: lp=p['long_prompt']; s+=f" (>{lp['above_prompt_tokens']}: {lp['input']:g}/{lp['output']:g}/{lp['cache_write_5m']:g}/{lp.get('cache_write_1h','-')}/{lp['cache_read']:g})"
    return s
out=[]
for d in R:
    out.append(f"#### {d['first']} – {d['last']}")
    if d.get('changes_from_previous'): out.append(f"Change: {d['changes_from_previous']}")
    groups={}
    for k,p in d['prices'].items(): groups.setdefault(fmt(p),[]).append(k)
    out.append('Prices (in/out/cw5m/cw1h/cr/web search): '+'; '.join(f"{', '.join(sorted(ks))} = {f}" for f,ks in groups.items()))
    if d.get('key_steps'):
        ks=[]
        for st in d['key_steps']:
            if st['op']=='includes': ks.append(f"⊃\"{st['s']}\"→{st['key']}" if st['s']!=st['key'] else f"⊃{st['s']}")
            elif st['op']=='test': ks.append(f"{st['re']}→{st['key']}")
            elif st['op']=='match_group1': ks.append(f"match {st['re']} group1")
            elif st['op']=='replace': ks.append(f"replace {st['re']}→\"{st['with']}\"")
            else: ks.append(st['op'])
        out.append('Key: '+(' ; '.join(d.get('pre_key_steps') or [])+' ; ' if d.get('pre_key_steps') else '')+' → '.join(ks))
    out.append('')
open('/tmp/cc/tables.md','w').write('\n'.join(out))
print(len(out))
