#!/bin/sh
# [SCENS="fanout 100 1500000;meeting 10 500000"] gogc-ab.sh ROUNDS OUTDIR BIN GOGC...: plain
# (non-profiling) server BIN under each GOGC value in turn ("" = Go's default
# 100), alternating, ROUNDS rounds, each run under the bench lock in a private
# namespace; the figures are kaigi loadtest's own (RSS before and after its
# collection, CPU, join times), which a profiling twin's FreeOSMemory would hide.
# GCTRACE=1: the server also prints gctrace lines into lt.err (gctrace.py).
rounds=$1 out=$2 bin=$3; shift 3; here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for r in $(seq "${FIRST:-1}" "$rounds"); do
  echo "${SCENS:-fanout 100 1500000;meeting 10 500000}" | tr ';' '\n' | while read -r scen; do
    set -- $scen
    for g in ${GOGCS:-default 50}; do
      v=$g; [ "$g" = default ] && v=
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) gogc=$g $1$2 round $r" >> "$out/log.txt"
      o="$out/$1$2-gogc$g-$r"; mkdir -p "$o"
      SERVER_GOGC=$v SERVER_GCTRACE=${GCTRACE:-} KAIGI_REAL_BIN=$bin flock /tmp/bench.lock /work/main/scripts/isolated.sh \
        ${LOADGEN:-/work/tmpbin-lead/kaigi-04f0600} loadtest --server-binary "$here/gogcwrap.sh" \
        --scenario "$1" --n "$2" --bitrate "$3" --server-cpu 0 --cpu 1 --quiet --json > "$o/lt.json" 2> "$o/lt.err"
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
