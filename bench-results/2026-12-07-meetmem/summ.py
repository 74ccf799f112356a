#!/usr/bin/env python3
"""summ.py [DIR]: the sitting's table (medians [lowest-highest] per scenario and build), the marginal
cost per subscriber near each N for the after build ((growth(N) - growth(N/2)) / (N/2), per round, medians),
and a straight line through the after build's fan-outs (every run of 1→5 ... 1→200)."""
import json, glob, statistics, sys, os, re
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sitting')
def get(j, path):
    for p in path.split('.'):
        if j is None: return None
        j = j.get(p)
    return j
cols = [
 ('RSS MiB/part', lambda j: get(j, 'server.rssPerParticipantMiB'), '{:.3f}'),
 ('anon RSS MiB/part', lambda j: get(j, 'server.anonPerParticipantMiB'), '{:.3f}'),
 ('RSS MiB loaded', lambda j: get(j, 'server.rssMiB'), '{:.1f}'),
 ('goroutines/part', lambda j: get(j, 'server.goroutinesPerParticipant'), '{:.1f}'),
 ('stacks MiB/part', lambda j: get(j, 'server.stackPerParticipantMiB'), '{:.3f}'),
 ('pkt/CPU-s', lambda j: get(j, 'forwarded.packetsPerCpuSecond'), lambda v: f'{v/1000:.0f}k'),
 ('loss %', lambda j: get(j, 'received.lossPercent'), '{:.3f}'),
 ('join→media p50 ms', lambda j: get(j, 'joins.toMediaMs.p50'), '{:.0f}'),
 ('join→media p99 ms', lambda j: get(j, 'joins.toMediaMs.p99'), '{:.0f}'),
]
runs = {}
for f in sorted(glob.glob(f'{d}/*.json')):
    v, s, r = re.match(r'.*/(\w+)-(\w+)-(\d+)\.json$', f).groups()
    try: runs.setdefault((s, v), {})[int(r)] = json.load(open(f))
    except Exception: print('unreadable:', f)
order = ['m10', 'm20', 'f5', 'f10', 'f25', 'f50', 'f100', 'f200']
print('| scenario | build | runs | ' + ' | '.join(c[0] for c in cols) + ' |')
print('|' + '---|' * (3 + len(cols)))
for s in order:
    for v in ('before', 'after'):
        rs = list(runs.get((s, v), {}).values())
        if not rs: continue
        cells = []
        for name, fn, fmt in cols:
            vals = [x for x in (fn(r) for r in rs) if isinstance(x, (int, float))]
            ff = fmt if callable(fmt) else fmt.format
            cells.append('—' if not vals else f'{ff(statistics.median(vals))} [{ff(min(vals))}–{ff(max(vals))}]')
        print(f'| {s} | {v} | {len(rs)} | ' + ' | '.join(cells) + ' |')
def growth(j, anon):
    S = j['server']
    return (S['anonMiB'] - S['anonBaselineMiB']) if anon else (S['rssMiB'] - S['rssBaselineMiB'])
print('\nMarginal cost per subscriber, after build: (growth(N) - growth(N/2)) / (N/2), per round, median [lo-hi] (rounds)')
print('| N/2 → N | RSS MiB per subscriber | anonymous MiB per subscriber |')
print('|---|---|---|')
for lo, hi in ((5, 10), (25, 50), (100, 200)):
    a, b = runs.get((f'f{lo}', 'after'), {}), runs.get((f'f{hi}', 'after'), {})
    rr = sorted(set(a) & set(b))
    cells = []
    for anon in (False, True):
        m = [(growth(b[r], anon) - growth(a[r], anon)) / (hi - lo) for r in rr]
        cells.append('—' if not m else f'{statistics.median(m):.3f} [{min(m):.3f}–{max(m):.3f}] ({len(m)})')
    print(f'| {lo} → {hi} | ' + ' | '.join(cells) + ' |')
for v in ('after', 'before'):
    pts = [(j['n'], growth(j, False), growth(j, True)) for (s, vv), rs in runs.items() if vv == v and s.startswith('f') for j in rs.values()]
    if len({p[0] for p in pts}) < 2: continue
    for k, name in ((1, 'RSS'), (2, 'anonymous')):
        mx = statistics.mean(p[0] for p in pts); my = statistics.mean(p[k] for p in pts)
        slope = sum((p[0] - mx) * (p[k] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)
        print(f'{v}, fan-outs {sorted({p[0] for p in pts})}: {name} growth ≈ {my - slope * mx:.2f} MiB + {slope:.3f} MiB × subscribers ({len(pts)} runs)')
