#!/bin/bash
# ab.sh OUT "ROUNDS" "BUILDS" "SCENARIOS": quick A/B of server builds (/work/tmpbin-Mem/kaigi-BUILD),
# generator kaigi-b24b89e; each scenario's runs of one round under one /tmp/bench.lock hold,
# the builds' order rotated by round. SCENARIOS: m10 m20 (meetings at 500 kbit/s), f200.
out=$1; mkdir -p $out
declare -A args=(
 [m10]="--scenario meeting --n 10 --bitrate 500000"
 [m20]="--scenario meeting --n 20 --bitrate 500000"
 [f200]="--scenario fanout --n 200 --bitrate 1500000"
)
builds=($3)
for r in $2; do
  for s in $4; do
    k=$((r % ${#builds[@]})); order="${builds[@]:$k} ${builds[@]:0:$k}"
    flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
      for b in $order; do
        la=\$(cut -d' ' -f1-3 /proc/loadavg)
        /work/tmpbin-Mem/kaigi-b24b89e loadtest --server-binary /work/tmpbin-Mem/kaigi-\$b ${args[$s]} --server-cpu 0 --cpu 1 --quiet --json > $out/\$b-$s-$r.json 2> $out/\$b-$s-$r.err
        echo \"\$(date +%T) \$b $s round $r rc=\$? load-before \$la\"
      done" >> $out/runs.log 2>&1
  done
done
