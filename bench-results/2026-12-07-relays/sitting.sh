#!/bin/bash
# The sitting: one server binary and one generator (both kaigi-31c53ee: HEAD with the anonymous-RSS metric and
# the generator without relays), pairs of runs of one scenario under one /tmp/bench.lock hold, order alternating
# by round. Pairs: direct (the default: no TURN relays) against relays (--relays), and for the experiment
# (f200x, m10x) direct against ast0 (the server with GODEBUG=adaptivestackstart=0, ast0.sh).
# Every run's server is sampled by sample.sh (RSS, anon, file pages) and its progress lines time-stamped.
#   ROUNDS="1 2 3" SCEN="f10 f50 f200 f200x m10 m10x m20" ./sitting.sh
here=$(cd "$(dirname "$0")" && pwd)
gen=/work/tmpbin-Meas/kaigi-31c53ee
OUT=${OUT:-/tmp/Meas/runs}; mkdir -p $OUT
declare -A args=(
 [f1]="--scenario fanout --n 1 --bitrate 1500000"
 [f10]="--scenario fanout --n 10 --bitrate 1500000"
 [f50]="--scenario fanout --n 50 --bitrate 1500000"
 [f200]="--scenario fanout --n 200 --bitrate 1500000"
 [f200x]="--scenario fanout --n 200 --bitrate 1500000"
 [m10]="--scenario meeting --n 10 --bitrate 500000"
 [m10x]="--scenario meeting --n 10 --bitrate 500000"
 [m20]="--scenario meeting --n 20 --bitrate 500000"
)
scen="${SCEN:-f10 f50 f200 f200x m10 m10x m20}"
for r in $ROUNDS; do
  for s in $scen; do
    case $s in *x) A=direct; B=ast0 ;; *) A=direct; B=relays ;; esac
    if [ $((r % 2)) -eq 1 ]; then order="$A $B"; else order="$B $A"; fi
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for v in $order; do
        srv=$here/srv.sh; extra=
        [ \$v = relays ] && extra=--relays
        [ \$v = ast0 ] && srv=$here/ast0.sh
        f=$OUT/\$v-$s-$r; rm -f \$f.pid \$f.samples
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        MEAS_PIDFILE=\$f.pid $here/sample.sh \$f.pid \$f.samples & sp=\$!
        MEAS_PIDFILE=\$f.pid $gen loadtest --server-binary \$srv ${args[$s]} \$extra --server-cpu 0 --cpu 1 --json > \$f.json \
          2> >(while IFS= read -r l; do echo \"\$(date +%s.%N) \$l\"; done > \$f.err)
        rc=\$?
        wait \$sp
        echo \"\$(date +%T) \$v $s round $r rc=\$rc load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\"
      done" >> $OUT/runs.log 2>&1
  done
done
echo "rounds $ROUNDS done" >> $OUT/runs.log
