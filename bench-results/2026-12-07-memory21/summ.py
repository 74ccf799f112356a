#!/usr/bin/env python3
"""summ.py DIR: medians [lowest-highest] of the A/B runs in DIR (ab.sh)."""
import json, glob, statistics, sys, os, re
d = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(d, '*.json'))):
    m = re.match(r'(\w+?\d+)-(\w+)-(\d+)\.json', os.path.basename(f))
    try:
        j = json.load(open(f))
    except Exception:
        print('incomplete:', os.path.basename(f)); continue
    s = j['server']
    rows.setdefault((m.group(1), m.group(2)), []).append(dict(
        per=s['rssPerParticipantMiB'], rss=s['rssMiB'], base=s['rssBaselineMiB'],
        pps=j['forwarded']['packetsPerCpuSecond'], cpu=s['utilisation'], loss=j['received']['lossPercent']))
def f(xs, fmt):
    return (fmt + ' [' + fmt + '–' + fmt + ']') % (statistics.median(xs), min(xs), max(xs))
print('| scenario | server | runs | RSS MiB per participant | RSS MiB in use, loaded | RSS MiB before joins | forwarded pkt per server CPU-s | server CPU | loss % |')
print('|---|---|---|---|---|---|---|---|---|')
for (sc, b), rs in sorted(rows.items()):
    print('| %s | %s | %d | %s | %s | %s | %s | %.2f | %s |' % (sc, b, len(rs),
        f([r['per'] for r in rs], '%.3f'), f([r['rss'] for r in rs], '%.1f'), f([r['base'] for r in rs], '%.1f'),
        f([r['pps']/1000 for r in rs], '%.0fk'), statistics.median(r['cpu'] for r in rs), f([r['loss'] for r in rs], '%.2f')))
    if '-v' in sys.argv:
        for r in rs: print('   ', r)
