#!/bin/bash
# One sitting: 04f0600 (the session before) against ec96884 (this session), one generator (c6b1b62) for both,
# runs alternating, each pair of one scenario under one /tmp/bench.lock hold.
# ROUNDS="1 2 3 4 5" ./sitting.sh
gen=/work/tmpbin-lead/kaigi-c6b1b62
A=${A:-04f0600}; B=${B:-ec96884}; OUT=${OUT:-/tmp/lead/ab3}; mkdir -p $OUT
declare -A args=(
 [f10]="--scenario fanout --n 10 --bitrate 1500000"
 [f50]="--scenario fanout --n 50 --bitrate 1500000"
 [f200]="--scenario fanout --n 200 --bitrate 1500000"
 [f200sp]="--scenario fanout --n 200 --bitrate 1500000"
 [m10]="--scenario meeting --n 10 --bitrate 500000"
 [m20]="--scenario meeting --n 20 --bitrate 500000"
 [storm]="--scenario joinstorm --n 50 --bitrate 1500000"
 [stormsc]="--scenario joinstorm --n 50 --bitrate 1500000 --simulcast"
)
scen="${SCEN:-f10 f50 f200 f200sp m10 m20 storm stormsc}"
for r in $ROUNDS; do
  if [ $((r % 2)) -eq 1 ]; then order="$A $B"; else order="$B $A"; fi
  for s in $scen; do
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for b in $order; do
        srv=/work/tmpbin-lead/kaigi-\$b
        [ $s = f200sp ] && srv=/tmp/lead/sp-\$b.sh
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        $gen loadtest --server-binary \$srv ${args[$s]} --server-cpu 0 --cpu 1 --quiet --json > $OUT/\$b-$s-$r.json 2> $OUT/\$b-$s-$r.err
        echo \"\$(date +%T) \$b $s round $r rc=\$? load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\"
      done" >> $OUT/runs.log 2>&1
  done
done
echo "rounds $ROUNDS done" >> $OUT/runs.log
