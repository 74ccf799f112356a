#!/usr/bin/env python3
"""Per run and medians [lowest-highest] for the generator A/B in /tmp/G/runs."""
import json, glob, statistics, re, sys
d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/G/runs'
log = {}
for line in open(f'{d}/runs.log'):
    m = re.match(r'(\S+) (\w+) n=(\d+) round (\d+) rc=(\d+) loadavg-before (\S+ \S+ \S+) \S+ \S+ loadavg-after (\S+ \S+ \S+)', line)
    if m: log[(m[2], m[3], m[4])] = (m[1], m[5], m[6], m[7])
def g(j, p):
    if p == 'ratio': return j['generatorUtilisation'] / j['server']['utilisation']
    if p == 'received.undecryptable': return j.get('received', {}).get('undecryptable', 0)
    for k in p.split('.'):
        j = j.get(k) if isinstance(j, dict) else None
    return j
cols = [('gen CPU','generatorUtilisation','{:.2f}'),('server CPU','server.utilisation','{:.2f}'),('gen ÷ server','ratio','{:.2f}'),
        ('fwd pkt/s','forwarded.packetsPerSecond','{:.0f}'),('pkt/server CPU-s','forwarded.packetsPerCpuSecond','{:.0f}'),
        ('loss %','received.lossPercent','{:.2f}'),('lat p50 ms','latencyMs.p50','{:.1f}'),('lat p99 ms','latencyMs.p99','{:.0f}'),
        ('joins failed','joins.failed','{}'),('undecryptable','received.undecryptable','{}')]
for n in ('200','50'):
    print(f'\n### 1→{n}\n')
    print('| build | round | date (UTC) | loadavg before / after | ' + ' | '.join(c[0] for c in cols) + ' |')
    print('|' + '---|'*(4+len(cols)))
    agg = {}
    for f in sorted(glob.glob(f'{d}/*-{n}-*.json'), key=lambda f: (f.split('/')[-1].split('-')[2], f)):
        b, _, r = f.split('/')[-1][:-5].split('-')
        try: j = json.load(open(f))
        except Exception:
            err = open(f[:-5]+'.err').read().strip().splitlines()
            print(f'| {b} | {r} | {log.get((b,n,r),("?",))[0]} | | failed: {err[-1] if err else "?"} |'); continue
        lg = log.get((b,n,r), ('?','?','?','?'))
        cells = [fmt.format(g(j,p)) if g(j,p) is not None else '—' for _,p,fmt in cols]
        print(f'| {b} | {r} | {lg[0]} | {lg[2]} / {lg[3]} | ' + ' | '.join(cells) + ' |')
        for _,p,_ in cols: agg.setdefault(b,{}).setdefault(p,[]).append(g(j,p))
    print('\nMedians [lowest–highest]:\n')
    print('| build | runs | ' + ' | '.join(c[0] for c in cols) + ' |')
    print('|' + '---|'*(2+len(cols)))
    for b in ('old','new'):
        if b not in agg: continue
        cells=[]
        for _,p,fmt in cols:
            v=[x for x in agg[b][p] if isinstance(x,(int,float))]
            cells.append(f'{fmt.format(statistics.median(v))} [{fmt.format(min(v))}–{fmt.format(max(v))}]' if v else '—')
        print(f'| {b} | {len(agg[b][cols[0][1]])} | ' + ' | '.join(cells) + ' |')
