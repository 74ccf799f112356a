#!/bin/bash
# headcheck.sh (A=build B=build OUTDIR=dir, defaults as below): the meetings at ffa8a7d (a9fe50b reverted, 01b2ff4) against the sitting's after build
# (99f0760, which had a9fe50b), 3 rounds, alternating order, one generator (kaigi-b24b89e) for both;
# the same runs as sitting.sh's m10 and m20. Servers from build-plain.sh.
here=$(cd "$(dirname "$0")" && pwd)
gen=/work/tmpbin-Mem/kaigi-b24b89e
OUT=$here/${OUTDIR:-headcheck}; mkdir -p $OUT
declare -A args=(
 [m10]="--scenario meeting --n 10 --bitrate 500000"
 [m20]="--scenario meeting --n 20 --bitrate 500000"
)
for r in ${ROUNDS:-1 2 3}; do
  for s in m10 m20; do
    if [ $((r % 2)) -eq 1 ]; then order="${A:-99f0760} ${B:-ffa8a7d}"; else order="${B:-ffa8a7d} ${A:-99f0760}"; fi
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for v in $order; do
        f=$OUT/\$v-$s-$r
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        $gen loadtest --server-binary /work/tmpbin-Mem/kaigi-\$v ${args[$s]} --server-cpu 0 --cpu 1 --json > \$f.json 2> \$f.err
        echo \"\$(date +%T) \$v $s round $r rc=\$? load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\"
      done" >> $OUT/runs.log 2>&1
  done
done
echo "rounds done $(date +%T)" >> $OUT/runs.log
