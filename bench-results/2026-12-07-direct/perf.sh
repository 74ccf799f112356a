#!/bin/bash
# 1->200 run of 75a040e with perf record -C 0 -g -F 499 for 8 s, 12 s in (as bench-results/2026-12-07-srtp-in-place/perf.sh)
cd /work/main
flock /tmp/bench.lock scripts/isolated.sh bash -c '
  /work/tmpbin-lead/kaigi-c6b1b62 loadtest --server-binary /work/tmpbin-F/kaigi-75a040e --scenario fanout --n 200 --bitrate 1500000 --server-cpu 0 --cpu 1 --quiet --json > /tmp/F/ab/perf-new.json 2> /tmp/F/ab/perf-new.err &
  pid=$!
  sleep 12
  perf record -C 0 -g -F 499 -o /tmp/F/ab/perf-new.data -- sleep 8 > /dev/null 2>&1
  wait $pid
  echo "$(date -u +%T) perf new rc=$?"'
