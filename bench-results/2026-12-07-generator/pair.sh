#!/bin/bash
# /tmp/G/pair.sh N ROUND [builds...]: one lock hold, generator builds in the given order, same server.
n=$1; r=$2; shift 2
order="${*:-old new}"
flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
for b in $order; do
  la=\$(cat /proc/loadavg); d=\$(date -u +%FT%TZ)
  /work/tmpbin-G/kaigi-\$b loadtest --server-binary /work/tmpbin-lead/kaigi-c6b1b62 --scenario fanout --n $n --bitrate 1500000 --receiver light --server-cpu 0 --cpu 1 --quiet --json > /tmp/G/runs/\$b-$n-$r.json 2> /tmp/G/runs/\$b-$n-$r.err
  rc=\$?
  echo \"\$d \$b n=$n round $r rc=\$rc loadavg-before \$la loadavg-after \$(cat /proc/loadavg) end \$(date -u +%T)\"
done" >> /tmp/G/runs/runs.log 2>&1
