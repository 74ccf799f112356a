#!/bin/bash
cd /work/main
flock /tmp/bench.lock scripts/isolated.sh bash -c '
  /work/tmpbin-S/kaigi-base loadtest --server-binary /work/tmpbin-S/kaigi-new --scenario fanout --n 200 --bitrate 1500000 --server-cpu 0 --cpu 1 --quiet --json > /tmp/S/perf-new.json 2> /tmp/S/perf-new.err &
  pid=$!
  sleep 12
  perf record -C 0 -g -F 499 -o /tmp/S/perf-new.data -- sleep 8 > /dev/null 2>&1
  wait $pid
  echo "$(date -u +%T) perf new rc=$?"'
