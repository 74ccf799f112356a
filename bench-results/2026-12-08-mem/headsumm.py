#!/usr/bin/env python3
"""headsumm.py DIR: RSS and anonymous RSS per participant (median and each run), loss and goroutines,
per scenario and build, for headcheck.sh's runs."""
import json, glob, statistics, re, sys
rows = {}
for f in sorted(glob.glob(sys.argv[1] + '/*.json')):
    v, s, r = re.match(r'.*/(\w+)-(\w+)-(\d+)\.json$', f).groups()
    try: j = json.load(open(f))
    except ValueError: continue  # a run still being written
    rows.setdefault((s, v), []).append((j['server']['rssPerParticipantMiB'], j['server']['anonPerParticipantMiB'],
                                        j['received']['lossPercent'], j['server'].get('goroutinesPerParticipant')))
for k in sorted(rows):
    a = rows[k]
    print(k, 'RSS', f"{statistics.median(x[0] for x in a):.3f}", [round(x[0], 3) for x in a],
          'anon', f"{statistics.median(x[1] for x in a):.3f}", [round(x[1], 3) for x in a],
          'loss max', round(max(x[2] for x in a), 4), 'goroutines', a[0][3])
