#!/bin/sh
# ab.sh ROUNDS OUTDIR: alternating runs (base, new) of the 10×10 meeting
# (500 kbit/s) and fan-out 1→200 (1.5 Mbit/s), each under the bench lock in
# a private namespace; the load generator is always kaigi-base; server on
# CPU 0, generator on CPU 1. Binaries from build.sh.
rounds=$1 out=$2
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for scen in "meeting 10 500000" "fanout 200 1500000"; do
    set -- $scen; s=$1 n=$2 br=$3
    for b in base new; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $b $s$n round $r" >> "$out/log.txt"
      flock /tmp/bench.lock /work/main/scripts/isolated.sh /work/tmpbin-F/kaigi-base loadtest --server-binary /work/tmpbin-F/kaigi-$b \
        --scenario $s --n $n --bitrate $br --server-cpu 0 --cpu 1 --quiet --json \
        > "$out/$s$n-$b-$r.json" 2> "$out/$s$n-$b-$r.err"
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
