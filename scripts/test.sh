#!/bin/sh
# Kaigi's test command (`make test`; CI runs it through .ci/run).
#
# 1. Installs what a fresh machine lacks: Debian's chromium and firefox-esr
#    for the browser tests, GStreamer's WebRTC elements for the WHIP
#    interop test, postgresql for the store's tests on PostgreSQL
#    (internal/pgtest runs its binaries in a temporary directory; no
#    server of the package's is used), the web client's npm packages, the
#    Go modules.
# 2. Checks formatting, vets, type-checks, builds and unit-tests the client.
# 3. Runs every Go test (unit, pion integration, real-browser) inside a
#    private network namespace with only loopback, so media never touches the
#    machine's real addresses; the multi-node tests, which change their
#    namespace's interfaces, in another.
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
# GStreamer's WebRTC elements and their Python bindings, for the WHIP
# interop test (internal/whip TestGStreamerPublishesIntoAMeeting).
{ command -v gst-inspect-1.0 && gst-inspect-1.0 webrtcbin && gst-inspect-1.0 nicesrc && gst-inspect-1.0 vp8enc &&
	/usr/bin/python3 -c 'import gi; gi.require_version("GstWebRTC", "1.0")'; } >/dev/null 2>&1 ||
	missing="$missing gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gst-1.0 gir1.2-gst-plugins-bad-1.0"
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

step "go: all tests, in private network namespaces"
# Everything from here runs in namespaces of its own (scripts/isolated.sh).
# The multi-node tests (the packages whose tests use internal/clustertest)
# add and remove bridges and addresses in theirs, while every WebRTC peer
# of the other packages' tests (Chromium, Firefox, pion) gathers
# candidates on every address: a call whose selected pair runs through a
# bridge that a multi-node test has just removed breaks (the SFU's sends
# from loopback get EINVAL; TestScreenShare failed so). So those packages
# run after the others, in a namespace of their own, one at a time.
netpkgs=$(go list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... |
	awk '/\/internal\/clustertest( |$)/ {print $1}')
others=$(go list ./... | grep -vxF "$netpkgs")
scripts/isolated.sh go test -count=1 -timeout 30m ${KAIGI_TEST_FLAGS:-} $others
if [ -n "$netpkgs" ]; then
	scripts/isolated.sh go test -p 1 -count=1 -timeout 30m ${KAIGI_TEST_FLAGS:-} $netpkgs
fi
