#!/bin/sh
# The cross-node cost (BENCHMARKS.md): a 1→N fan-out (1.5 Mbit/s video)
# whose subscribers are split across two Kaigi nodes of one cluster, next
# to the same fan-out on one node, alternating, ROUNDS times.
#
# One node: `kaigi loadtest` starts its own server, as scripts/bench.sh
# does. Two nodes: this starts a NATS server, a throwaway PostgreSQL and
# two `kaigi serve` nodes (n1, n2) on loopback in a temporary directory,
# signs up, makes an open meeting and runs
#   kaigi loadtest --url n1 --meeting ID --second-url n2
# (the publisher and every second subscriber join through n1, the others
# through n2, which relays the tracks from n1), then stops them all. The
# servers, NATS and PostgreSQL run on CPU 0, the load generator on CPU 1;
# both nodes' CPU counts. All of it inside scripts/isolated.sh's network
# namespace, so the fixed loopback ports below are private.
#
# Environment: ROUNDS (3), N (200), WINDOW (10s), RECEIVER (browser),
# JOIN_TIMEOUT (3m),
# OUT (bench-results/<date>-crossnode), BIN (where the binaries are built;
# deleted afterwards). Needs PostgreSQL's initdb and postgres on PATH, and
# root or a user who may run them.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200}
WINDOW=${WINDOW:-10s}
RECEIVER=${RECEIVER:-browser}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-3m}
OUT=${OUT:-bench-results/$(date -u +%Y-%m-%d)-crossnode}
BIN=${BIN:-$(mktemp -d)}
export ROUNDS N WINDOW RECEIVER JOIN_TIMEOUT OUT BIN

# cluster_up starts NATS, PostgreSQL and the nodes n1 and n2 in $tmp and
# makes an open meeting ($meeting).
cluster_up() {
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	# A relayed client message may be as large as a socket's frame (1 MiB):
	# docs/operations.md asks for max_payload 2 MiB.
	printf 'listen: 127.0.0.1:14222\nhttp: 127.0.0.1:18222\nmax_payload: 2097152\njetstream { store_dir: "%s" }\n' \
		"$tmp/nats" >"$tmp/nats.conf"
	taskset -c 0 "$BIN/nats-server" -c "$tmp/nats.conf" >"$tmp/nats.log" 2>&1 &
	echo $! >"$tmp/nats.pid"
	i=0
	until curl -sf http://127.0.0.1:18222/healthz >/dev/null; do
		i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$tmp/nats.log"; exit 1; }; sleep 0.2
	done
	mkdir "$tmp/pg" && chown postgres "$tmp/pg"
	runuser -u postgres -- initdb -D "$tmp/pg/data" -U kaigi --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
		--no-sync >"$tmp/initdb.log" 2>&1
	runuser -u postgres -- taskset -c 0 postgres -D "$tmp/pg/data" -p 15432 -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories="$tmp/pg" -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		-c max_connections=200 >"$tmp/pg.log" 2>&1 &
	i=0
	until runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p 15432; do
		i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$tmp/pg.log"; exit 1; }; sleep 0.2
	done
	head -n 1 "$tmp/pg/data/postmaster.pid" >"$tmp/pg.pid" # postgres itself, not runuser
	for n in 1 2; do
		mkdir -p "$tmp/n$n"
		cat >"$tmp/n$n/kaigi.yaml" <<YAML
region: eu
database: "postgres://kaigi@127.0.0.1:15432/postgres?sslmode=disable"
cluster:
  node_id: n$n
  nats:
    urls: ["nats://127.0.0.1:14222"]
meetings:
  max_participants: 1000
metrics:
  token: $token
YAML
		# The nodes share the key that seals the database's secrets.
		if [ "$n" = 2 ]; then mkdir -p "$tmp/n2/data" && cp "$tmp/n1/data/secret.key" "$tmp/n2/data/"; fi
		taskset -c 0 "$BIN/kaigi" serve --listen "127.0.0.1:1808$n" --data "$tmp/n$n/data" \
			--config "$tmp/n$n/kaigi.yaml" --log-level warn >"$tmp/n$n/log" 2>&1 &
		echo $! >"$tmp/n$n.pid"
		i=0
		until curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:1808$n/metrics" >/dev/null; do
			i=$((i + 1)); [ "$i" -lt 150 ] || { cat "$tmp/n$n/log"; exit 1; }; sleep 0.2
		done
	done
	# Set up through n2: placement takes the least-loaded node (fewer
	# participants, then meetings, then CPU since its last heartbeat), and
	# the sign-up's password hash makes n2 the busier, so the publisher's
	# join through n1 most often places the meeting on n1. Each run's JSON
	# says where it was (nodes[].participants: the meeting's node counts
	# everyone, the other none).
	jar=$tmp/cookies
	curl -sf -c "$jar" -b "$jar" -H 'Content-Type: application/json' http://127.0.0.1:18082/api/auth/signup \
		-d '{"email":"loadtest@example.org","name":"Load Test","password":"load test password"}' >/dev/null
	meeting=$(curl -sf -c "$jar" -b "$jar" -H 'Content-Type: application/json' http://127.0.0.1:18082/api/meetings \
		-d '{"settings":{"e2ee":false,"passcode":false,"waitingRoom":false,"joinBeforeHost":true,"screenShare":"everyone","unmute":"everyone","chat":"everyone","rename":"everyone"}}' |
		jq -r .id)
}

# cluster_down stops the nodes, PostgreSQL and NATS (those started), and
# removes $tmp.
cluster_down() {
	[ -n "${tmp:-}" ] || return 0
	for p in n2 n1 pg nats; do
		if [ -s "$tmp/$p.pid" ]; then kill "$(cat "$tmp/$p.pid")" 2>/dev/null || true; fi
	done
	for p in n2 n1 pg nats; do
		if [ -s "$tmp/$p.pid" ]; then
			while kill -0 "$(cat "$tmp/$p.pid")" 2>/dev/null; do sleep 0.1; done
		fi
	done
	rm -rf "$tmp"
	tmp=
}

if [ "${1:-}" = --inside ]; then # in the namespace
	tmp=
	trap cluster_down EXIT
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		echo "== round $r of $ROUNDS: one node, fanout n=$N; load $(cut -d' ' -f1-3 /proc/loadavg)"
		# A run that fails (on a loaded machine, someone not receiving all
		# their media within JOIN_TIMEOUT) is noted and skipped.
		"$BIN/kaigi" loadtest --scenario fanout --n "$N" --window "$WINDOW" --receiver "$RECEIVER" \
			--join-timeout "$JOIN_TIMEOUT" --server-cpu 0 --cpu 1 --quiet --json >"$OUT/one-$r.json" ||
			{ echo "round $r, one node: failed"; mv "$OUT/one-$r.json" "$OUT/one-$r.failed"; }
		echo "== round $r of $ROUNDS: two nodes, fanout n=$N; load $(cut -d' ' -f1-3 /proc/loadavg)"
		cluster_up
		KAIGI_METRICS_TOKEN=$token taskset -c 1 "$BIN/kaigi" loadtest --scenario fanout --n "$N" --window "$WINDOW" \
			--receiver "$RECEIVER" --url http://127.0.0.1:18081 --meeting "$meeting" --second-url http://127.0.0.1:18082 \
			--join-timeout "$JOIN_TIMEOUT" --cpu 1 --quiet --json >"$OUT/two-$r.json" ||
			{ echo "round $r, two nodes: failed"; mv "$OUT/two-$r.json" "$OUT/two-$r.failed"; }
		# Who held what: the meeting's node and the entry node's metrics
		# after the run (everyone has left by now; see the JSON for the
		# window).
		for n in 1 2; do
			curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:1808$n/metrics" |
				grep -E '^kaigi_(meetings|participants|forwarded_packets_total|signalling_connections) ' >"$OUT/two-$r-n$n-after.txt" || true
		done
		cat "$tmp"/n*/log >"$OUT/two-$r-logs.txt"
		cluster_down
		r=$((r + 1))
	done
	exit 0
fi

mkdir -p "$OUT" "$BIN"
go build -o "$BIN/kaigi" ./cmd/kaigi
go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2
scripts/isolated.sh "$0" --inside 2>&1 | tee "$OUT/log.txt"
"$BIN/kaigi" loadtest summarize "$OUT"/*.json | tee "$OUT/summary.md"
rm -rf "$BIN"
echo "results in $OUT"
