#!/usr/bin/env python3
"""items.py TOP10 TOP20: split each heap item (pprof -top -unit=kb flat, growth from the idle server to
everyone in) of a 10x10 and a 20x20 meeting into a part per publishing participant (a) and a part per
subscription (b, one participant subscribed to another's audio and video): X = a*N + b*N*(N-1)."""
import re, sys
def load(p):
    d = {}
    for l in open(p):
        parts = l.split()
        m = re.match(r'(-?[\d.]+)(kB|MB|B)$', parts[0]) if parts else None
        if not m: continue
        v = float(m.group(1)) * {'kB': 1, 'MB': 1024, 'B': 1 / 1024}[m.group(2)]
        k = re.sub(r' \(inline\)', '', ' '.join(parts[1:]))
        d[k] = d.get(k, 0) + v
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
rows = []
for k in set(a) | set(b):
    x10, x20 = a.get(k, 0), b.get(k, 0)
    bb = (x20 - 2 * x10) / 200; aa = (x10 - 90 * bb) / 10
    rows.append((x20, x10, aa, bb, k))
rows.sort(key=lambda r: -r[0])
print('| KiB at 20×20 | at 10×10 | KiB per publisher | KiB per subscription | allocated at |')
print('|---|---|---|---|---|')
for r in rows[:int(sys.argv[3]) if len(sys.argv) > 3 else 25]:
    print('| %.0f | %.0f | %.1f | %.2f | %s |' % (r[0], r[1], r[2], r[3], r[4].replace('github.com/', '')[:90]))
print('| %.0f | %.0f | %.1f | %.2f | all |' % (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)))
