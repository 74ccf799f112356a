#!/bin/sh
cd /tmp/p3/base
for r in $ROUNDS; do
  flock /tmp/bench.lock /work/main/scripts/isolated.sh sh -c "
    for b in $ORDER; do
      /tmp/p3/kaigi-base loadtest --server-binary /tmp/p3/diag-\$b.sh --scenario fanout --n 200 --bitrate 1500000 --server-cpu 0 --cpu 1 --quiet --json > /tmp/p3/diag/\$b-$r.json 2> /tmp/p3/diag/\$b-$r.err
      echo \"\$(date +%T) \$b diag round $r rc=\$?\"
    done"
done
