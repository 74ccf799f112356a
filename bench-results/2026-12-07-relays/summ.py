#!/usr/bin/env python3
"""Summarise the sitting: medians [lowest-highest] per scenario and variant.
   python3 summ.py [DIR]   (DIR: the runs, default runs/)"""
import json, glob, statistics, sys, os
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'runs')
pairs = [('f1', 'direct relays'), ('f10', 'direct relays'), ('f50', 'direct relays'), ('f200', 'direct relays'), ('m10', 'direct relays'),
         ('m20', 'direct relays'), ('f200x', 'direct ast0'), ('m10x', 'direct ast0')]
def get(j, path):
    for p in path.split('.'):
        if j is None: return None
        j = j.get(p)
    return j
def joined(j):
    return j['server']['rssMiB'] - j['server']['rssBaselineMiB']
cols = [
 ('RSS MiB/part', lambda j: get(j, 'server.rssPerParticipantMiB'), '{:.3f}'),
 ('anon RSS MiB/part', lambda j: get(j, 'server.anonPerParticipantMiB'), '{:.3f}'),
 ('RSS before GC MiB/part', lambda j: (j['server']['rssBeforeGcMiB'] - j['server']['rssBaselineMiB']) / j['participants'], '{:.3f}'),
 ('goroutines/part', lambda j: get(j, 'server.goroutinesPerParticipant'), '{:.1f}'),
 ('stacks MiB/part', lambda j: get(j, 'server.stackPerParticipantMiB'), '{:.3f}'),
 ('pkt/CPU-s', lambda j: get(j, 'forwarded.packetsPerCpuSecond'), lambda v: f'{v/1000:.0f}k'),
 ('server CPU', lambda j: get(j, 'server.utilisation'), '{:.2f}'),
 ('gen CPU', lambda j: get(j, 'generatorUtilisation'), '{:.2f}'),
 ('loss %', lambda j: get(j, 'received.lossPercent'), '{:.3f}'),
 ('join→media p50', lambda j: get(j, 'joins.toMediaMs.p50'), '{:.0f}'),
 ('join→media p99', lambda j: get(j, 'joins.toMediaMs.p99'), '{:.0f}'),
]
print('| scenario | variant | runs | ' + ' | '.join(c[0] for c in cols) + ' |')
print('|' + '---|' * (3 + len(cols)))
for s, vs in pairs:
    for v in vs.split():
        files = sorted(glob.glob(f'{d}/{v}-{s}-*.json'))
        runs = []
        for f in files:
            try: runs.append(json.load(open(f)))
            except Exception: pass
        if not files: continue
        cells = []
        for name, f, fmt in cols:
            vals = []
            for r in runs:
                try: x = f(r)
                except Exception: x = None
                if isinstance(x, (int, float)): vals.append(x)
            ff = fmt if callable(fmt) else fmt.format
            cells.append('—' if not vals else f'{ff(statistics.median(vals))} [{ff(min(vals))}–{ff(max(vals))}]')
        print(f'| {s} | {v} | {len(runs)} of {len(files)} | ' + ' | '.join(cells) + ' |')
