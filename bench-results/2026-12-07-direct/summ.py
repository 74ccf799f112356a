import json,glob,statistics
for s in ['f200','f50']:
  for b in ['c9b7f8d','75a040e']:
    rs=[json.load(open(f)) for f in sorted(glob.glob(f'/tmp/F/ab/{b}-{s}-*.json'))]
    v=[r['forwarded']['packetsPerCpuSecond'] for r in rs]
    u=[r['server']['utilisation'] for r in rs]
    g=[r['generatorUtilisation'] for r in rs]
    l=[r['received']['lossPercent'] for r in rs]
    p=[r['latencyMs']['p50'] for r in rs]; p99=[r['latencyMs']['p99'] for r in rs]
    rss=[r['server']['rssPerParticipantMiB'] for r in rs]
    print(f'| 1→{s[1:]} | {b} | {len(rs)} | %.0fk [%.0fk–%.0fk] | %.3f [%.3f–%.3f] | %.2f | %.3f | %.1f | %.0f | %.3f | %s |'%(statistics.median(v)/1e3,min(v)/1e3,max(v)/1e3,
      statistics.median(u),min(u),max(u),statistics.median(g),max(l),statistics.median(p),statistics.median(p99),statistics.median(rss), ' '.join(str(round(x/1e3)) for x in v)))
