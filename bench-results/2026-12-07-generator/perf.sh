#!/bin/bash
# /tmp/G/perf.sh BUILD N TAG: one run of BUILD with perf on the generator for 6 s of steady state.
b=$1; n=$2; tag=$3
flock /tmp/bench.lock /work/main/scripts/isolated.sh bash -c "
  /work/tmpbin-G/kaigi-$b loadtest --server-binary /work/tmpbin-lead/kaigi-c6b1b62 --scenario fanout --n $n --bitrate 1500000 --receiver light --server-cpu 0 --cpu 1 --quiet --json > /tmp/G/perf-$b-$tag.json 2> /tmp/G/perf-$b-$tag.err &
  pid=\$!
  sleep 9
  perf record -F 999 -g -p \$pid -o /tmp/G/perf-$b-$tag.data -- sleep 6 > /dev/null 2>&1
  wait \$pid
  echo \"\$(date -u +%T) perf $b $tag rc=\$? \$(cat /proc/loadavg)\"
" >> /tmp/G/perf.log 2>&1
