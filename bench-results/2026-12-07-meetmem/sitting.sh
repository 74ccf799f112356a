#!/bin/bash
# The sitting: before (b24b89e) against after (the last commit of this work), server binaries built by
# build-plain.sh from `git archive` into /work/tmpbin-Mem/, one generator for both (kaigi-b24b89e).
# Each pair of runs of one scenario under one /tmp/bench.lock hold (the lock is free between pairs),
# order alternating by round; the after build alone also runs fan-outs 1→5, 1→25, 1→100 (one run a hold)
# for the marginal cost per subscriber near each N.
#   AFTER=99f0760 ROUNDS="1 2 3" ./sitting.sh
here=$(cd "$(dirname "$0")" && pwd)
gen=/work/tmpbin-Mem/kaigi-b24b89e
before=/work/tmpbin-Mem/kaigi-b24b89e
after=/work/tmpbin-Mem/kaigi-${AFTER:?}
OUT=${OUT:-$here/sitting}; mkdir -p $OUT
declare -A args=(
 [f5]="--scenario fanout --n 5 --bitrate 1500000"
 [f10]="--scenario fanout --n 10 --bitrate 1500000"
 [f25]="--scenario fanout --n 25 --bitrate 1500000"
 [f50]="--scenario fanout --n 50 --bitrate 1500000"
 [f100]="--scenario fanout --n 100 --bitrate 1500000"
 [f200]="--scenario fanout --n 200 --bitrate 1500000"
 [m10]="--scenario meeting --n 10 --bitrate 500000"
 [m20]="--scenario meeting --n 20 --bitrate 500000"
)
for r in $ROUNDS; do
  for s in ${SCEN:-m10 m20 f10 f50 f200 f5 f25 f100}; do
    case $s in f5|f25|f100) order="after" ;; *) if [ $((r % 2)) -eq 1 ]; then order="before after"; else order="after before"; fi ;; esac
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for v in $order; do
        bin=$before; [ \$v = after ] && bin=$after
        f=$OUT/\$v-$s-$r
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        $gen loadtest --server-binary \$bin ${args[$s]} --server-cpu 0 --cpu 1 --json > \$f.json 2> \$f.err
        echo \"\$(date +%T) \$v $s round $r rc=\$? load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\"
      done" >> $OUT/runs.log 2>&1
  done
done
echo "rounds $ROUNDS done $(date +%T)" >> $OUT/runs.log
