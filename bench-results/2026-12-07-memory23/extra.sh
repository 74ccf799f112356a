#!/bin/sh
# [R=round] [SCENS="fanout 200 1500000;meeting 20 500000"] extra.sh OUTDIR: one
# round of the plain builds (base, mem2; gctrace on) at fan-out 1->200
# (1.5 Mbit/s) and the 20x20 meeting (500 kbit/s), as in sitting.sh's
# plain runs, each under the bench lock.
out=$1 here=$(cd "$(dirname "$0")" && pwd) r=${R:-1}
mkdir -p "$out"
echo "${SCENS:-fanout 200 1500000;meeting 20 500000}" | tr ';' '\n' | while read -r scen; do
  set -- $scen
  for x in base mem2; do
    echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) plain $x $1$2 round $r" >> "$out/log.txt"
    o="$out/$1$2-$x-$r"; mkdir -p "$o"
    SERVER_GCTRACE=1 KAIGI_REAL_BIN=/work/tmpbin-Mem/kaigi-$x flock /tmp/bench.lock /work/main/scripts/isolated.sh \
      /work/tmpbin-lead/kaigi-04f0600 loadtest --server-binary "$here/gogcwrap.sh" \
      --scenario "$1" --n "$2" --bitrate "$3" --server-cpu 0 --cpu 1 --quiet --json > "$o/lt.json" 2> "$o/lt.err"
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
