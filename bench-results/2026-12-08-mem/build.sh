#!/bin/sh
# build.sh COMMIT NAME: builds COMMIT's kaigi (no web client) into
# /work/tmpbin-Mem/kaigi-NAME, and a profiling twin kaigi-NAME-prof with
# heapprof.go.txt added (measurement only, never committed to cmd/kaigi).
set -eu
c=$1 name=$2 here=$(cd "$(dirname "$0")" && pwd)
src=/tmp/Mem/src-$name
rm -rf "$src"; mkdir -p "$src"
git -C /work/main archive "$c" | tar -x -C "$src"
mkdir -p "$src/web/dist"; [ -e "$src/web/dist/index.html" ] || echo '<!doctype html>' > "$src/web/dist/index.html"
(cd "$src" && go build -o /work/tmpbin-Mem/kaigi-$name ./cmd/kaigi)
cp "$here/heapprof.go.txt" "$src/cmd/kaigi/zz_heapprof.go"
(cd "$src" && go build -o /work/tmpbin-Mem/kaigi-$name-prof ./cmd/kaigi)
rm -rf "$src"
