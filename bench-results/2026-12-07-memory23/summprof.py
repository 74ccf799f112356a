#!/usr/bin/env python3
"""summprof.py DIR: for prof-ab.sh's runs, per participant (fan-out: per
subscriber, the publisher counted too, as kaigi loadtest does) the growth
from the idle sample (1 s after start) to the last sample with everyone in,
both after debug.FreeOSMemory: anonymous RSS, heap in use, goroutine
stacks; medians [lowest-highest]; and kaigi loadtest's own figure."""
import glob, json, os, re, statistics, sys
def read(p):
    v = {}
    for l in open(p):
        m = re.match(r'(\w+):?\s+(\d+)', l)
        if m and m.group(1) not in v:
            v[m.group(1)] = int(m.group(2))
    return v
# An idle sample taken while the load test's sign-up hashed its password
# (argon2id, 64 MiB) is no idle: such a run is counted from the median of
# the same build's clean idle samples (a fresh server, before any request).
idles = {}
for d in sorted(glob.glob(os.path.join(sys.argv[1], '*-*-*'))):
    try:
        i = read(d + '/idle.txt')
    except Exception:
        continue
    if i['HeapAlloc'] < 20 << 20 and i['goroutines'] < 60:
        idles.setdefault(os.path.basename(d).split('-')[1], []).append(i)
rows = {}
for d in sorted(glob.glob(os.path.join(sys.argv[1], '*-*-*'))):
    m = re.match(r'(\w+?\d+)-(\w+)-(\d+)$', os.path.basename(d))
    try:
        i, p = read(d + '/idle.txt'), read(d + '/peak.txt')
        j = json.load(open(d + '/lt.json'))
    except Exception as e:
        print('incomplete:', d, e); continue
    n = j['participants']
    if i['HeapAlloc'] >= 20 << 20 or i['goroutines'] >= 60:
        print('idle sample not idle (sign-up hashing or joins), counted from the median clean idle:', os.path.basename(d))
        clean = idles[m.group(2)]
        i = {k: statistics.median(c[k] for c in clean) for k in clean[0]}
    rows.setdefault((m.group(1), m.group(2)), []).append(dict(
        anon=(p['RssAnon'] - i['RssAnon']) / 1024 / n, heap=(p['HeapInuse'] - i['HeapInuse']) / 2**20 / n,
        alloc=(p['HeapAlloc'] - i['HeapAlloc']) / 2**20 / n, stack=(p['StackInuse'] - i['StackInuse']) / 2**20 / n,
        g=(p['goroutines'] - i['goroutines']) / n,
        rt=sum(p[k] - i[k] for k in ('MSpanInuse', 'GCSys', 'OtherSys', 'BuckHashSys', 'MCacheInuse')) / 2**20 / n, lt=j['server']['rssPerParticipantMiB'],
        rss=j['server']['rssMiB'], loss=j['received']['lossPercent']))
def f(xs, fmt='%.3f'):
    return (fmt + ' [' + fmt + '–' + fmt + ']') % (statistics.median(xs), min(xs), max(xs))
print('| scenario | server | runs | anonymous RSS MiB per participant | heap in use | live heap | goroutine stacks | runtime metadata (spans, GC, profiling buckets) | goroutines per participant | loadtest RSS MiB per participant | loss % |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
for (sc, b), rs in sorted(rows.items()):
    print('| %s | %s | %d | %s | %s | %s | %s | %s | %.1f | %s | %s |' % (sc, b, len(rs), f([r['anon'] for r in rs]), f([r['heap'] for r in rs]),
        f([r['alloc'] for r in rs]), f([r['stack'] for r in rs]), f([r['rt'] for r in rs]), statistics.median(r['g'] for r in rs), f([r['lt'] for r in rs]), f([r['loss'] for r in rs], '%.1f')))
    if '-v' in sys.argv:
        for r in rs: print('   ', {k: round(v, 3) for k, v in r.items()})
