#!/bin/sh
# Runs each Go fuzz target for a short budget (`scripts/test.sh` calls it;
# run it alone for longer with KAIGI_FUZZ_TIME=5m). The seed corpora live in
# each package's testdata/fuzz/<FuzzName>/ and run with every `go test`;
# this explores beyond them. A crasher is written to that folder: fix the
# bug, and commit the file as a regression test.
#
# Targets: the signalling decoder, the KeyPackage check and the delivery
# service's handling of client messages (e2ee), the session-description
# bounds (sfu) and config parsing. Needs no network.
set -eu
cd "$(dirname "$0")/.."

budget=${KAIGI_FUZZ_TIME:-8s}
for target in \
	internal/signal:FuzzClientMessage \
	internal/e2ee:FuzzKeyPackage \
	internal/e2ee:FuzzGroup \
	internal/sfu:FuzzSessionDescription \
	internal/config:FuzzParse; do
	pkg=${target%%:*}
	name=${target#*:}
	printf '%s %s (%s)\n' "$pkg" "$name" "$budget"
	# Minimising each new input may take a while; keep it to a few seconds
	# so the budget goes to fuzzing.
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$budget" -fuzzminimizetime 5s "./$pkg"
done
