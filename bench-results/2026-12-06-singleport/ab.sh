#!/bin/sh
cd /tmp/p3/base
for r in $ROUNDS; do
  if [ $((r % 2)) -eq 1 ]; then order="fix base"; else order="base fix"; fi
  flock /tmp/bench.lock /work/main/scripts/isolated.sh sh -c "
    for b in $order; do
      /tmp/p3/kaigi-base loadtest --server-binary /tmp/p3/sp-\$b.sh --scenario fanout --n 200 --bitrate 1500000 --server-cpu 0 --cpu 1 --quiet --json > /tmp/p3/ab/\$b-200-$r.json 2> /tmp/p3/ab/\$b-200-$r.err
      echo \"\$(date +%T) \$b sp round $r rc=\$? load \$(cut -d' ' -f1-3 /proc/loadavg)\"
    done"
done
echo done
