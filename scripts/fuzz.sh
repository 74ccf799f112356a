#!/bin/sh
# Runs each Go fuzz target for a short budget (`scripts/test.sh` calls it;
# run it alone for longer with KAIGI_FUZZ_TIME=2000000x). The seed corpora live in
# each package's testdata/fuzz/<FuzzName>/ and run with every `go test`;
# this explores beyond them. A crasher is written to that folder: fix the
# bug, and commit the file as a regression test.
#
# Targets: the signalling decoder, the KeyPackage check and the delivery
# service's handling of client messages (e2ee), the session-description
# bounds (sfu), a WHIP program's offer (whip) and config parsing. Needs no
# network.
set -eu
cd "$(dirname "$0")/.."

# Each target runs for a number of executions, not a duration: Go before
# 1.27 can fail a duration-bounded run with a bare "context deadline
# exceeded" when the time runs out while a worker is busy (a race in the
# fuzzing coordinator, go.dev/issue/75804), which a loaded CI machine hits.
# The counts are about 8 s of fuzzing each on a 2-core machine.
# KAIGI_FUZZ_TIME (e.g. 5m, or 1000000x) overrides them for every target.
for target in \
	internal/signal:FuzzClientMessage:60000x \
	internal/e2ee:FuzzKeyPackage:300000x \
	internal/e2ee:FuzzGroup:80000x \
	internal/sfu:FuzzSessionDescription:60000x \
	internal/whip:FuzzOffer:60000x \
	internal/whip:FuzzWatchOffer:20000x \
	internal/recorder:FuzzMuxer:10000x \
	internal/config:FuzzParse:60000x; do
	pkg=${target%%:*}
	rest=${target#*:}
	name=${rest%%:*}
	budget=${KAIGI_FUZZ_TIME:-${rest#*:}}
	printf '%s %s (%s)\n' "$pkg" "$name" "$budget"
	# Minimising each new input may take a while; keep it to a few seconds
	# so the budget goes to fuzzing.
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$budget" -fuzzminimizetime 5s "./$pkg"
done
