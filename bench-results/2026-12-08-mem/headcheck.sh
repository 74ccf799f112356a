#!/bin/bash
# headcheck.sh (A=build B=build OUTDIR=dir ROUNDS="1 2 3 4"): meetings 10x10 and 20x20 at 500 kbit/s, A against B,
# alternating order by round, one generator (kaigi-b24b89e) for both, each pair under one /tmp/bench.lock hold;
# servers from build-plain.sh (/work/tmpbin-Mem/kaigi-NAME). Copied from ../2026-12-07-meetmem.
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
