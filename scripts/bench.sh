#!/bin/sh
# Kaigi's benchmarks, as BENCHMARKS.md reports them:
#   1. the forwarding hot path (go test -bench Forward -benchmem), and
#   2. `kaigi loadtest` scenarios against a server pinned to CPU 0, with
#      the load generator on CPU 1, each run RUNS times;
# all in a private network namespace (scripts/isolated.sh). Results go to
# bench-results/<date>/: one JSON file per load test run, the benchmark
# output (forward.txt), and summary.md (the table for BENCHMARKS.md).
#
# Environment: RUNS (3), WINDOW (10s), SCENARIOS (below; scenario:n or
# scenario:n:bitrate), BENCH_COUNT (5 runs of each Go benchmark; 0 skips
# them), RECEIVER (browser: subscribers receive as a browser does, with
# NACK repair, for latency and loss; light: a cheaper generator that
# counts unrepaired loss, see kaigi loadtest --receiver). Run it on a quiet
# machine: about 15 minutes with the defaults.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WINDOW=${WINDOW:-10s}
BENCH_COUNT=${BENCH_COUNT:-5}
# Meetings use 500 kbit/s video: in a gallery of 10 or 20 tiles each is
# sent a lower simulcast layer, and at 1.5 Mbit/s a 20×20 meeting would
# ask the generator's one CPU to receive more than it can.
SCENARIOS=${SCENARIOS:-"fanout:10 fanout:50 fanout:200 meeting:10:500000 meeting:20:500000 joinstorm:50"}
OUT=${OUT:-bench-results/$(date -u +%Y-%m-%d)}
RECEIVER=${RECEIVER:-browser}
export RUNS WINDOW BENCH_COUNT SCENARIOS OUT RECEIVER

if [ "${1:-}" = --inside ]; then # in the namespace
	if [ "$BENCH_COUNT" -gt 0 ]; then
		echo "== forwarding hot path (-count $BENCH_COUNT)"
		bin/sfu.test -test.run '^$' -test.bench Forward -test.benchmem -test.count "$BENCH_COUNT" >"$OUT/forward.txt"
		cat "$OUT/forward.txt"
	fi
	for s in $SCENARIOS; do
		scenario=${s%%:*} rest=${s#*:}
		n=${rest%%:*} bitrate=1500000
		if [ "$rest" != "$n" ]; then bitrate=${rest#*:}; fi
		run=1
		while [ "$run" -le "$RUNS" ]; do
			echo "== $scenario n=$n video=$bitrate bit/s, run $run of $RUNS"
			bin/kaigi loadtest --scenario "$scenario" --n "$n" --bitrate "$bitrate" --window "$WINDOW" \
				--receiver "$RECEIVER" --server-cpu 0 --cpu 1 --quiet --json >"$OUT/$scenario-$n-$run.json"
			run=$((run + 1))
		done
	done
	exit 0
fi

mkdir -p "$OUT" bin
go build -o bin/kaigi ./cmd/kaigi
go test -c -o bin/sfu.test ./internal/sfu
scripts/isolated.sh "$0" --inside
bin/kaigi loadtest summarize "$OUT"/*.json | tee "$OUT/summary.md"
echo "results in $OUT"
