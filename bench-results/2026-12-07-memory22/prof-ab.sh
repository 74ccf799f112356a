#!/bin/sh
# [FIRST=K] [SCENS="meeting 10 500000;fanout 100 1500000"] prof-ab.sh ROUNDS OUTDIR A B: rounds K (1) to
# ROUNDS of prof.sh alternating the -prof builds /work/tmpbin-M/kaigi-A-prof
# and kaigi-B-prof, each run under the bench lock in a private namespace.
rounds=$1 out=$2 a=$3 b=$4 here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for r in $(seq "${FIRST:-1}" "$rounds"); do
  echo "${SCENS:-meeting 10 500000;fanout 100 1500000}" | tr ';' '\n' | while read -r scen; do
    set -- $scen
    for x in $a $b; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $x $1$2 round $r" >> "$out/log.txt"
      flock /tmp/bench.lock /work/main/scripts/isolated.sh "$here/prof.sh" /work/tmpbin-M/kaigi-$x-prof "$out/$1$2-$x-$r" $1 $2 $3
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
