#!/usr/bin/env python3
"""gctrace.py DIR: the server's collections in each plain run under DIR
(DIR/<scenario><n>-<variant>-<round>/lt.err, GODEBUG=gctrace=1 lines):
number of collections over the whole run (start, sign-up, joins, the
measured window, leaving) and the CPU they took (the sum of each line's
"ms cpu" fields: stop-the-world phases, assist, background and idle
marking), with kaigi loadtest's server CPU over its 10 s window for
scale; medians [lowest-highest] per scenario and variant."""
import glob, os, re, sys, json, statistics
runs = {}
pat = re.compile(r'^gc \d+ @[\d.]+s \d+%: [\d.+]+ ms clock, ([\d.+/]+) ms cpu')
for d in sorted(glob.glob(os.path.join(sys.argv[1], '*'))):
    m = re.match(r'(.*)-(\d+)$', os.path.basename(d))
    if not m or not os.path.exists(os.path.join(d, 'lt.err')):
        continue
    n = 0; cpu = 0.0
    for line in open(os.path.join(d, 'lt.err'), errors='replace'):
        g = pat.match(line)
        if g:
            n += 1
            cpu += sum(float(x) for x in re.split(r'[+/]', g.group(1)))
    try:
        lt = json.load(open(os.path.join(d, 'lt.json')))
        p = lt['participants']
    except Exception:
        continue
    runs.setdefault(m.group(1), []).append((n, cpu / 1000, p))
def f(xs, fmt):
    return (fmt % statistics.median(xs)) + ' [' + (fmt % min(xs)) + '–' + (fmt % max(xs)) + ']'
print('| run | n | collections | their CPU s | their CPU ms per participant |')
print('|---|---|---|---|---|')
for k, v in runs.items():
    print('|', k, '|', len(v), '|', f([x[0] for x in v], '%d'), '|', f([x[1] for x in v], '%.3f'), '|', f([1000 * x[1] / x[2] for x in v], '%.2f'), '|')
