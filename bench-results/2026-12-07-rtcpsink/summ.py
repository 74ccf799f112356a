import json,glob,sys,os,statistics as st,collections
d=sys.argv[1]
rows=collections.defaultdict(list)
for f in sorted(glob.glob(d+'/*.json')):
    b=os.path.basename(f)[:-5]
    if b.count('-')<2: continue
    scen,label,r=b.rsplit('-',2)
    try: j=json.load(open(f))
    except Exception as e: print('bad',f,e); continue
    s=j['server']
    rows[(scen,label)].append((s['rssPerParticipantMiB'],s['rssBaselineMiB'],s['rssMiB'],j['forwarded']['packetsPerCpuSecond'],s['utilisation'],j['received']['lossPercent'],j['generatorUtilisation'],r))
for k in sorted(rows):
    v=rows[k]
    def med(i): return st.median([x[i] for x in v])
    def rng(i): return min(x[i] for x in v),max(x[i] for x in v)
    print(k,len(v),'rss/p %.3f [%.3f-%.3f]'%(med(0),*rng(0)),'base %.1f'%med(1),'rss %.1f [%.1f-%.1f]'%(med(2),*rng(2)),'pkt/cpu %.0fk [%.0fk-%.0fk]'%(med(3)/1e3,rng(3)[0]/1e3,rng(3)[1]/1e3),'cpu %.2f'%med(4),'loss %.2f [%.2f-%.2f]'%(med(5),*rng(5)),'gen %.2f'%med(6))
    if '-v' in sys.argv:
        for x in v: print('   ',['%.3f'%y if isinstance(y,float) else y for y in x])
