#!/usr/bin/env python3
"""What a run's memory growth is made of. The load test reads the total RSS and the anonymous RSS at the
same scrapes (a fresh server's, and with everyone in, both after ?gc=1), so the growth of file-backed pages
(VmRSS = RssAnon + RssFile + RssShmem; no shmem here) is the difference. sample.sh's samples of
/proc/PID/status give a cross-check: RssFile on the first plateau after start (two samples 0.5 s apart
within 256 kB: the baseline's settling, before the joins) against the window's last sample (before the
collection). Then, per scenario, a straight line through the direct runs' anonymous growth against the
subscribers (fan-out): the slope is a subscriber's cost, the intercept the publisher's and what is paid once.
   python3 comp.py [DIR]"""
import json, glob, statistics, sys, os, re
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'runs')
rows = {}
for jf in sorted(glob.glob(f'{d}/*.json')):
    base = jf[:-5]
    v, s, r = re.match(r'.*/([a-z0-9]+)-([a-z0-9]+)-(\d+)$', base).groups()
    try:
        j = json.load(open(jf))
        S = j['server']
        row = dict(n=j['participants'], N=j['n'], total=S['rssMiB'] - S['rssBaselineMiB'], anon=S['anonMiB'] - S['anonBaselineMiB'],
                   anonBase=S['anonBaselineMiB'], fileBase=S['rssBaselineMiB'] - S['anonBaselineMiB'], sampled=None)
        row['file'] = row['total'] - row['anon']
    except Exception:
        continue
    try:
        samples = [list(map(float, l.split())) for l in open(base + '.samples') if l.strip()]
        err = open(base + '.err').read().splitlines()
        t_meas = next(float(l.split()[0]) for l in err if 'measuring for' in l)
        b = next(samples[i] for i in range(len(samples) - 1) if abs(samples[i + 1][1] - samples[i][1]) < 256)
        e = [x for x in samples if t_meas <= x[0] <= t_meas + 10][-1]
        row['sampled'] = (e[3] - b[3]) / 1024
    except Exception:
        pass
    rows.setdefault((s, v), []).append(row)

def fmt(vals, f='{:.2f}'):
    vals = [x for x in vals if x is not None]
    if not vals: return '—'
    return f'{f.format(statistics.median(vals))} [{f.format(min(vals))}–{f.format(max(vals))}]'

print('| scenario | variant | runs | participants | RSS growth MiB | of it anonymous | of it file-backed | file-backed (sampled RssFile, cross-check) | anonymous MiB per participant | file-backed MiB per participant | baseline: anonymous / file-backed MiB |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
order = ['f1', 'f10', 'f50', 'f200', 'f200x', 'm10', 'm10x', 'm20']
for (s, v), rs in sorted(rows.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else 99, kv[0][1])):
    n = rs[0]['n']
    print(f'| {s} | {v} | {len(rs)} | {n} | {fmt([x["total"] for x in rs])} | {fmt([x["anon"] for x in rs])} | '
          f'{fmt([x["file"] for x in rs])} | {fmt([x["sampled"] for x in rs])} | {fmt([x["anon"] / n for x in rs], "{:.3f}")} | '
          f'{fmt([x["file"] / n for x in rs], "{:.3f}")} | {statistics.median(x["anonBase"] for x in rs):.1f} / {statistics.median(x["fileBase"] for x in rs):.1f} |')

# anonymous and total growth against subscribers, fan-out, per variant: least squares over every run
for v in ('direct', 'relays'):
    pts = [(x['N'], x['anon'], x['total']) for (s, vv), rs in rows.items() if vv == v and s in ('f1', 'f10', 'f50', 'f200') for x in rs]
    if len({p[0] for p in pts}) < 2: continue
    for k, name in ((1, 'anonymous'), (2, 'total')):
        mx = statistics.mean(p[0] for p in pts); my = statistics.mean(p[k] for p in pts)
        slope = sum((p[0] - mx) * (p[k] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)
        print(f'\n{v}, fan-out, {name} growth ≈ {my - slope * mx:.2f} MiB + {slope:.3f} MiB × subscribers ({len(pts)} runs)', end='')
print()
