#!/bin/bash
# F's quick A/B: c9b7f8d (before the direct path) against 75a040e, one generator (lead's c6b1b62),
# alternating, each pair of one scenario under one /tmp/bench.lock hold.
gen=/work/tmpbin-lead/kaigi-c6b1b62
A=c9b7f8d; B=75a040e; OUT=/tmp/F/ab
declare -A args=([f50]="--scenario fanout --n 50 --bitrate 1500000" [f200]="--scenario fanout --n 200 --bitrate 1500000")
for r in ${ROUNDS:-1 2 3}; do
  if [ $((r % 2)) -eq 1 ]; then order="$A $B"; else order="$B $A"; fi
  for s in ${SCEN:-f200 f50}; do
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for b in $order; do
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        $gen loadtest --server-binary /work/tmpbin-F/kaigi-\$b ${args[$s]} --server-cpu 0 --cpu 1 --quiet --json > $OUT/\$b-$s-$r.json 2> $OUT/\$b-$s-$r.err
        echo \"\$(date +%T) \$b $s round $r rc=\$? load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\"
      done" >> $OUT/runs.log 2>&1
  done
done
echo done >> $OUT/runs.log
