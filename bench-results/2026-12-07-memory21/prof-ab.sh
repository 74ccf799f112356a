#!/bin/sh
# [FIRST=K] prof-ab.sh ROUNDS OUTDIR: rounds K (1) to ROUNDS of prof.sh alternating base, new (the -prof
# builds) for the 10×10 meeting and fan-out 1→100, each under the bench lock
# in a private namespace. Each run's peak.txt and idle.txt give anonymous
# RSS after debug.FreeOSMemory (RssAnon), free of the executable's pages.
rounds=$1 out=$2 here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for r in $(seq "${FIRST:-1}" "$rounds"); do
  for scen in "meeting 10 500000" "fanout 100 1500000"; do
    set -- $scen
    for b in base new; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $b $1$2 round $r" >> "$out/log.txt"
      flock /tmp/bench.lock /work/main/scripts/isolated.sh "$here/prof.sh" /work/tmpbin-F/kaigi-$b-prof "$out/$1$2-$b-$r" $1 $2 $3
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
