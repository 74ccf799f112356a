#!/usr/bin/env python3
"""traceagg.py TRACES [DEPTH]: sums `go tool pprof -traces` (inuse_space, -base idle) by the
first DEPTH kaigi frames of each stack, to see which of our calls hold the heap."""
import re, sys, collections
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 1
agg = collections.Counter()
for blk in open(sys.argv[1]).read().split('-----------+-------------------------------------------------------'):
    lines = [l.strip() for l in blk.strip().split('\n') if l.strip()]
    if len(lines) < 2 or not lines[0].startswith('bytes:'): continue
    m = re.match(r'(-?[\d.]+)(kB|MB|B)\s+(.*)', lines[1])
    if not m: continue
    v = float(m.group(1)) * {'kB': 1, 'MB': 1024, 'B': 1 / 1024}[m.group(2)]
    frames = [m.group(3)] + lines[2:]
    ours = [f for f in frames if 'kaigi' in f][:depth]
    agg[' < '.join(ours) or frames[-1]] += v
for k, v in agg.most_common(25): print(f"{v:9.1f} kB  {k}")
