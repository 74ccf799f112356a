#!/bin/sh
# peaks.sh ROUNDS OUT: peak.sh alternating before/after, the 10×10 meeting
# then fan-out 1→200, the generator always the before build.
rounds=$1 out=$2
cd /work/main
for r in $(seq 1 "$rounds"); do
  for scen in "meeting 10 500000" "fanout 200 1500000"; do
    for b in before after; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $b $scen round $r" >> "$out"
      flock /tmp/bench.lock scripts/isolated.sh bench-results/2026-12-07-rtcpsink/peak.sh /work/tmpbin-A/kaigi-$b /work/tmpbin-A/kaigi-before $scen 2>&1 | sed "s/^/  $b $r /" >> "$out"
    done
  done
done
echo "$(date -u +%T) done" >> "$out"
