#!/usr/bin/env python3
"""ltsum.py DIR: kaigi loadtest's own figures of every run under DIR
(DIR/<scenario><n>-<variant>-<round>/lt.json), grouped by scenario and
variant: RSS MiB per participant after the load test's collection
(rssPerParticipantMiB), the same before it ((rssBeforeGc - baseline) /
participants), server CPU seconds, packets per server CPU-second, loss %,
join to media and to key frame p50 ms; medians [lowest-highest]."""
import json, glob, os, sys, re, statistics
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'lt.json'))):
    name = os.path.basename(os.path.dirname(f))
    m = re.match(r'(.*)-(\d+)$', name)
    try:
        d = json.load(open(f))
    except Exception:
        print('unreadable', f); continue
    s = d['server']; p = d['participants']
    runs.setdefault(m.group(1), []).append({
        'rss': s['rssPerParticipantMiB'],
        'rssbgc': (s['rssBeforeGcMiB'] - s['rssBaselineMiB']) / p,
        'cpu': s['cpuSeconds'],
        'pktcpu': d['forwarded']['packetsPerCpuSecond'] / 1000,
        'loss': d['received']['lossPercent'],
        'media': d['joins']['toMediaMs']['p50'],
        'kf': d['joins']['toKeyframeMs']['p50'],
    })
def f(xs, fmt):
    return (fmt % statistics.median(xs)) + ' [' + (fmt % min(xs)) + '–' + (fmt % max(xs)) + ']'
print('| run | n | RSS MiB/participant after GC | before GC | server CPU s | kpkt per CPU-s | loss % | join→media p50 ms | join→key frame p50 ms |')
print('|---|---|---|---|---|---|---|---|---|')
for k, v in runs.items():
    c = lambda key: [r[key] for r in v]
    print('|', k, '|', len(v), '|', f(c('rss'), '%.3f'), '|', f(c('rssbgc'), '%.3f'), '|', f(c('cpu'), '%.2f'), '|',
          f(c('pktcpu'), '%.0f'), '|', f(c('loss'), '%.2g'), '|', f(c('media'), '%.0f'), '|', f(c('kf'), '%.0f'), '|')
