#!/bin/bash
for r in 1 2 3 4 5; do
  if [ $((r % 2)) -eq 1 ]; then o="old new"; else o="new old"; fi
  /tmp/G/pair.sh 200 $r $o
  if [ $r -le 3 ]; then /tmp/G/pair.sh 50 $r $o; fi
done
echo done >> /tmp/G/runs/runs.log
