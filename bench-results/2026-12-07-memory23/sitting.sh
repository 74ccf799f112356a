#!/bin/sh
# [FIRST=K] [MEETING_ROUNDS=2] sitting.sh ROUNDS OUTDIR: the A/B sitting, builds alternating in each round:
# fan-out 1->100 (1.5 Mbit/s) and, in the first MEETING_ROUNDS rounds, the
# 10x10 meeting (500 kbit/s), each with
#   prof/<scen>-{base,mem1,mem2}-R  the profiling twins (prof.sh: RssAnon,
#                                   heap and goroutines after FreeOSMemory)
#   plain/<scen>-{base,mem2}-R      the plain builds, with gctrace (kaigi
#                                   loadtest's RSS before and after its
#                                   collection, CPU, join times; gctrace.py)
# base = 04f0600; mem1 = base + loopback auto and pion loggers (c9b7f8d's
# files); mem2 = mem1 + gogc 50 by default. Each run under the bench lock.
rounds=$1 out=$2 here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/prof" "$out/plain"
for r in $(seq "${FIRST:-1}" "$rounds"); do
  scens="fanout 100 1500000"
  [ "$r" -le "${MEETING_ROUNDS:-2}" ] && scens="$scens;meeting 10 500000"
  echo "$scens" | tr ';' '\n' | while read -r scen; do
    set -- $scen
    for x in base mem1 mem2; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) prof $x $1$2 round $r" >> "$out/log.txt"
      flock /tmp/bench.lock /work/main/scripts/isolated.sh "$here/prof.sh" /work/tmpbin-Mem/kaigi-$x-prof "$out/prof/$1$2-$x-$r" $1 $2 $3
    done
    for x in base mem2; do
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) plain $x $1$2 round $r" >> "$out/log.txt"
      o="$out/plain/$1$2-$x-$r"; mkdir -p "$o"
      SERVER_GCTRACE=1 KAIGI_REAL_BIN=/work/tmpbin-Mem/kaigi-$x flock /tmp/bench.lock /work/main/scripts/isolated.sh \
        /work/tmpbin-lead/kaigi-04f0600 loadtest --server-binary "$here/gogcwrap.sh" \
        --scenario "$1" --n "$2" --bitrate "$3" --server-cpu 0 --cpu 1 --quiet --json > "$o/lt.json" 2> "$o/lt.err"
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
