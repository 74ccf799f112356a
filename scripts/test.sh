#!/bin/sh
# Kaigi's test command (`make test`; CI runs it through .ci/run).
#
# 1. Installs what a fresh machine lacks: Debian's chromium and firefox-esr
#    for the browser tests, postgresql for the store's tests on PostgreSQL
#    (internal/pgtest runs its binaries in a temporary directory; no
#    server of the package's is used), the web client's npm packages, the
#    Go modules.
# 2. Checks formatting, vets, type-checks, builds and unit-tests the client.
# 3. Runs every Go test (unit, pion integration, real-browser) inside a
#    private network namespace with only loopback, so media never touches the
#    machine's real addresses.
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

step "installing what is missing"
missing=""
for browser in chromium firefox-esr; do
	command -v "$browser" >/dev/null 2>&1 || missing="$missing $browser"
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
fi
chromium --version
firefox-esr --version
ls -d /usr/lib/postgresql/*/bin 2>/dev/null || command -v initdb
(cd web && npm ci --no-audit --no-fund)
go mod download

step "web client: type-check, build, unit tests"
(cd web && npm run check && npm run build && npm test)

step "go: format, vet and staticcheck"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
# staticcheck at a pinned version (its checks: staticcheck.conf).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
# Compile every test binary now, while the network is reachable, so nothing
# inside the namespace below needs it.
go test -count=1 -run '^$' ./... >/dev/null

step "go: fuzzing, a few seconds per target"
scripts/fuzz.sh

step "go: all tests, in a private network namespace"
# Everything from here runs in a namespace of its own (scripts/isolated.sh).
scripts/isolated.sh go test -count=1 -timeout 30m ${KAIGI_TEST_FLAGS:-} ./...
