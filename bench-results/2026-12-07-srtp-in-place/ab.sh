#!/bin/bash
# 3 alternating pairs at 1→200, each pair under one flock.
cd /work/main
for i in 1 2 3; do
  if [ $((i % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  flock /tmp/bench.lock bash -c "
    for b in $order; do
      la=\$(cut -d' ' -f1-3 /proc/loadavg)
      scripts/isolated.sh /work/tmpbin-S/kaigi-base loadtest --server-binary /work/tmpbin-S/kaigi-\$b --scenario fanout --n 200 --bitrate 1500000 --server-cpu 0 --cpu 1 --quiet --json > /tmp/S/ab/\$b-200-$i.json 2> /tmp/S/ab/\$b-200-$i.err
      echo \"\$(date -u +%T) \$b 200 round $i rc=\$? load-before \$la load-after \$(cut -d' ' -f1-3 /proc/loadavg)\" >> /tmp/S/ab/log.txt
    done"
done
echo done >> /tmp/S/ab/log.txt
