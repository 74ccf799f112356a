#!/bin/sh
# run.sh SERVERBIN SCENARIO N BITRATE OUTPREFIX [profile]
# One kaigi loadtest run under the bench lock, in a private namespace.
set -u
bin=$1 scen=$2 n=$3 br=$4 out=$5 prof=${6:-}
cd /tmp/wtA
if [ -n "$prof" ]; then
  flock /tmp/bench.lock scripts/isolated.sh sh -c '
    KAIGI_PPROF=127.0.0.1:6061 GODEBUG=memprofilerate=4096 /tmp/A/kaigi-base loadtest --server-binary "$1" --scenario "$2" --n "$3" --bitrate "$4" --server-cpu 0 --cpu 1 --quiet --json > "$5.json" 2>"$5.err" &
    lt=$!
    best=0
    while kill -0 $lt 2>/dev/null; do
      sleep 4
      g=$(curl -s --max-time 5 "http://127.0.0.1:6061/debug/pprof/goroutine?debug=1" | head -1 | sed -n "s/.*total \([0-9]*\).*/\1/p")
      [ -n "$g" ] || continue
      if [ "$g" -gt "$best" ]; then
        best=$g
        curl -s --max-time 20 -o "$5.heap.pb.gz" "http://127.0.0.1:6061/debug/pprof/heap?gc=1"
        curl -s --max-time 5 -o "$5.goroutine.txt" "http://127.0.0.1:6061/debug/pprof/goroutine?debug=1"
        curl -s --max-time 20 "http://127.0.0.1:6061/debug/pprof/heap?debug=1" | grep "^# " > "$5.memstats.txt"
      fi
    done
    wait $lt' sh "$bin" "$scen" "$n" "$br" "$out"
else
  flock /tmp/bench.lock scripts/isolated.sh /tmp/A/kaigi-base loadtest --server-binary "$bin" --scenario "$scen" --n "$n" --bitrate "$br" --server-cpu 0 --cpu 1 --quiet --json > "$out.json" 2>"$out.err"
fi
