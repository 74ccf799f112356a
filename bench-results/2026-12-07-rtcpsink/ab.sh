#!/bin/sh
# ab.sh ROUNDS OUTDIR label=binary... : alternating runs of fan-out 1→200
# (1.5 Mbit/s) and the 10×10 meeting (500 kbit/s), each run under the
# bench lock in a private namespace, the load generator always the first
# binary given, server on CPU 0 and generator on CPU 1.
rounds=$1 out=$2; shift 2
gen=${1#*=}
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for scen in "fanout 200 1500000" "meeting 10 500000"; do
    for lb in "$@"; do
      label=${lb%%=*} bin=${lb#*=}
      set -- $scen "$@"; s=$1$2; n=$2; br=$3; shift 3
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $label $s round $r" >> "$out/log.txt"
      flock /tmp/bench.lock /work/main/scripts/isolated.sh "$gen" loadtest --server-binary "$bin" \
        --scenario "${s%%[0-9]*}" --n "$n" --bitrate "$br" --server-cpu 0 --cpu 1 --quiet --json \
        > "$out/$s-$label-$r.json" 2> "$out/$s-$label-$r.err"
    done
  done
done
echo "$(date -u +%T) done" >> "$out/log.txt"
