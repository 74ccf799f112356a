#!/bin/sh
# buildtree.sh SRC NAME: builds the tree SRC (a copy of a commit with this
# engineer's changes over it, before they are committed) into
# /work/tmpbin-Mem/kaigi-NAME and its profiling twin kaigi-NAME-prof
# (heapprof.go.txt added to a copy). Run under flock /tmp/bench.lock.
set -eu
src=$1 name=$2; here=$(cd "$(dirname "$0")" && pwd)
(cd "$src" && go build -o /work/tmpbin-Mem/kaigi-$name ./cmd/kaigi)
tmp=/tmp/Mem/build-$name; rm -rf "$tmp"; cp -r "$src" "$tmp"
cp "$here/heapprof.go.txt" "$tmp/cmd/kaigi/zz_heapprof.go"
(cd "$tmp" && go build -o /work/tmpbin-Mem/kaigi-$name-prof ./cmd/kaigi)
rm -rf "$tmp"
