#!/bin/sh
# cfg-ab.sh ROUNDS OUTDIR: the c6b1b62 profiling twin under four
# configurations (the load test's own, and with a webrtc:/turn: section
# added by cfgwrap.sh), 10x10 meeting and fan-out 1->100, alternating,
# each run under the bench lock in a private namespace.
rounds=$1 out=$2 here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for r in $(seq "${FIRST:-1}" "$rounds"); do
  for scen in "fanout 100 1500000"; do  # rounds 2-3 of the sitting: fan-out only (the meeting showed nothing in round 1)
    set -- $scen
    for c in def nolo udp1 noturn; do
      case $c in
        def) y='' ;;
        nolo) y='webrtc:
  include_loopback: false' ;;
        udp1) y='webrtc:
  include_loopback: false
  ice_tcp: false' ;;
        noturn) y='turn:
  enabled: false' ;;
      esac
      echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $c $1$2 round $r" >> "$out/log.txt"
      KAIGI_EXTRA_YAML="$y" KAIGI_REAL_BIN=/work/tmpbin-M/kaigi-base-prof \
        flock /tmp/bench.lock /work/main/scripts/isolated.sh "$here/prof.sh" "$here/cfgwrap.sh" "$out/$1$2-$c-$r" $1 $2 $3
    done
  done
done
echo "$(date -u +%T) done load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log.txt"
