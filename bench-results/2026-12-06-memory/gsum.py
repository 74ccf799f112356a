# Counts a goroutine profile (debug=1) by the function each goroutine started in.
import sys,re,collections
txt=open(sys.argv[1]).read()
# the first block follows the 'goroutine profile: total N' line
txt=txt.split('\n',1)[1] if txt.startswith('goroutine profile') else txt
c=collections.Counter()
for blk in txt.split('\n\n'):
    lines=blk.strip().split('\n')
    m=re.match(r'(\d+) @',lines[0])
    if not m: continue
    n=int(m.group(1))
    fr=[l.split()[2] for l in lines[1:] if l.startswith('#\t')]
    # count by the goroutine's first frame (the function it started in)
    start=fr[-1] if fr else '?'
    c[(re.sub(r'\+0x[0-9a-f]+','',start))]+=n
tot=sum(c.values())
print('total',tot)
for k,v in c.most_common(40): print(v,k)
