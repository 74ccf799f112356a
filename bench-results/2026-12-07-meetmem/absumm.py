#!/usr/bin/env python3
"""absumm.py DIR: medians [lo-hi] per build and scenario of ab.sh's runs."""
import glob, json, os, re, statistics, sys
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    m = re.match(r'(.+)-(\w+)-(\d+)\.json$', os.path.basename(f))
    try:
        j = json.load(open(f))
    except Exception:
        print('unreadable', f); continue
    s = j['server']
    rows.setdefault((m.group(2), m.group(1)), []).append((s['rssPerParticipantMiB'], s.get('anonPerParticipantMiB', float('nan')),
        s['rssMiB'], s.get('goroutinesPerParticipant', 0), j['received']['lossPercent']))
def f(xs, fmt='%.3f'):
    return (fmt + ' [' + fmt + '–' + fmt + ']') % (statistics.median(xs), min(xs), max(xs))
print('| scenario | build | runs | RSS MiB/participant | anonymous | RSS MiB | goroutines/p | loss % |')
print('|---|---|---|---|---|---|---|---|')
for (sc, b), rs in sorted(rows.items()):
    print('| %s | %s | %d | %s | %s | %s | %.1f | %s |' % (sc, b, len(rs), f([r[0] for r in rs]), f([r[1] for r in rs]), f([r[2] for r in rs], '%.1f'), statistics.median(r[3] for r in rs), f([r[4] for r in rs], '%.2f')))
