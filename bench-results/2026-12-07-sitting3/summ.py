#!/usr/bin/env python3
"""Summarise the sitting: medians [lowest-highest] per build and scenario."""
import json, glob, os, re, statistics, sys
d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/lead/ab'
builds = sys.argv[2].split(',') if len(sys.argv) > 2 else ['base', 'c6b1b62']
scens = ['f10','f50','f200','f200sp','m10','m20','storm','stormsc']
def get(j, path):
    for p in path.split('.'):
        if j is None: return None
        j = j.get(p)
    return j
cols = [
 ('pkt/CPU-s', 'forwarded.packetsPerCpuSecond', lambda v: f'{v/1000:.0f}k'),
 ('fwd pkt/s', 'forwarded.packetsPerSecond', lambda v: f'{v:.0f}'),
 ('server CPU', 'server.utilisation', lambda v: f'{v:.2f}'),
 ('gen CPU', 'generatorUtilisation', lambda v: f'{v:.2f}'),
 ('loss %', 'received.lossPercent', lambda v: f'{v:.3f}'),
 ('lat p50', 'latencyMs.p50', lambda v: f'{v:.1f}'),
 ('lat p99', 'latencyMs.p99', lambda v: f'{v:.0f}'),
 ('join→media p99', 'joins.toMediaMs.p99', lambda v: f'{v:.0f}'),
 ('media→key p50', 'joins.mediaToKeyframeMs.p50', lambda v: f'{v:.0f}'),
 ('media→key p99', 'joins.mediaToKeyframeMs.p99', lambda v: f'{v:.0f}'),
 ('RSS MiB/part', 'server.rssPerParticipantMiB', lambda v: f'{v:.3f}'),
]
print('| scenario | build | runs | ' + ' | '.join(c[0] for c in cols) + ' |')
print('|' + '---|' * (3 + len(cols)))
for s in scens:
    for b in builds:
        files = sorted(glob.glob(f'{d}/{b}-{s}-*.json'))
        runs = []
        for f in files:
            try: runs.append(json.load(open(f)))
            except Exception: pass
        if not files: continue
        cells = []
        for name, path, fmt in cols:
            vals = [get(r, path) for r in runs]
            vals = [v for v in vals if isinstance(v, (int, float))]
            if not vals: cells.append('—'); continue
            cells.append(f'{fmt(statistics.median(vals))} [{fmt(min(vals))}–{fmt(max(vals))}]')
        print(f'| {s} | {b} | {len(runs)} of {len(files)} | ' + ' | '.join(cells) + ' |')
