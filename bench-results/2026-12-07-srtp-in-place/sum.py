import json,glob,statistics as st
rows={}
for f in sorted(glob.glob('/tmp/S/ab/*-200-*.json')):
    try: d=json.load(open(f))
    except Exception as e: print(f,'bad',e); continue
    b=f.split('/')[-1].split('-')[0]
    r=(d['forwarded']['packetsPerCpuSecond'],d['server']['utilisation'],d['generatorUtilisation'],d['received']['lossPercent'],d['received']['worstTrackLossPercent'],d['latencyMs'].get('p50') if isinstance(d['latencyMs'],dict) else None,d['latencyMs'].get('p99') if isinstance(d['latencyMs'],dict) else None,d['server']['rssPerParticipantMiB'],d['forwarded']['packetsPerSecond'])
    rows.setdefault(b,[]).append(r)
    print(f.split('/')[-1], 'pkt/cpu-s %.0f  srvcpu %.2f  gencpu %.2f  loss %.2f worst %.2f  lat p50 %s p99 %s  rss/p %.2f  fwd pkt/s %.0f'%r)
for b,v in rows.items():
    print(b,'median pkt/cpu-s %.0f [%.0f-%.0f] srv cpu %.2f'%(st.median([x[0] for x in v]),min(x[0] for x in v),max(x[0] for x in v),st.median([x[1] for x in v])))
