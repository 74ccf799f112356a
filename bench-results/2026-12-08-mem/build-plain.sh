#!/bin/sh
# build-plain.sh COMMIT NAME: COMMIT's kaigi (no web client) as /work/tmpbin-Mem/kaigi-NAME.
set -eu
c=$1 name=$2
src=/tmp/Mem/src-$name
rm -rf "$src"; mkdir -p "$src"
git -C /work/main archive "$c" | tar -x -C "$src"
mkdir -p "$src/web/dist"; [ -e "$src/web/dist/index.html" ] || echo '<!doctype html>' > "$src/web/dist/index.html"
(cd "$src" && go build -o /work/tmpbin-Mem/kaigi-$name ./cmd/kaigi)
rm -rf "$src"
