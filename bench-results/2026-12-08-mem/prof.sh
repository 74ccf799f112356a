#!/bin/sh
# prof.sh BIN OUTDIR SCENARIO N BITRATE: one load test with a profiling
# server (build.sh's -prof binary), heap profile at 1 sample per 4 KiB;
# generator kaigi-b24b89e. Run under the bench lock, inside scripts/isolated.sh.
bin=$1 out=$2 scen=$3 n=$4 br=$5
mkdir -p "$out"
echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/when.txt"
KAIGI_HEAPPROF=$(cd "$out" && pwd) GODEBUG=memprofilerate=4096 /work/tmpbin-Mem/kaigi-b24b89e loadtest --server-binary "$bin" \
  --scenario "$scen" --n "$n" --bitrate "$br" --server-cpu 0 --cpu 1 --quiet --json > "$out/lt.json" 2> "$out/lt.err"
