#!/usr/bin/env python3
"""Per scenario: medians of each build's forwarded packets per server CPU-second and the median of
the pair ratios (new / old, same round). python3 pairs.py ab3 04f0600 ec96884"""
import json, statistics, sys, glob, os
d, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
for s in ['f10', 'f50', 'f200', 'f200sp', 'm10', 'm20']:
    ra, rb, rr = [], [], []
    for r in range(1, 20):
        fa, fb = f'{d}/{a}-{s}-{r}.json', f'{d}/{b}-{s}-{r}.json'
        if not (os.path.exists(fa) and os.path.exists(fb)):
            continue
        x = json.load(open(fa))['forwarded']['packetsPerCpuSecond']
        y = json.load(open(fb))['forwarded']['packetsPerCpuSecond']
        ra.append(x); rb.append(y); rr.append(y / x)
    if rr:
        print(f'{s}: {len(rr)} pairs, {a} {statistics.median(ra)/1e3:.0f}k, {b} {statistics.median(rb)/1e3:.0f}k, '
              f'ratio {statistics.median(rr):.2f} [{min(rr):.2f}-{max(rr):.2f}]')
