#!/bin/sh
# cfgwrap.sh: a "server binary" for kaigi loadtest --server-binary that adds
# $KAIGI_EXTRA_YAML (a top-level YAML section) to the config the load test
# wrote, then execs $KAIGI_REAL_BIN with the same arguments (same PID, so
# the profiling twin's RSS is the server's).
prev=
for a in "$@"; do
  if [ "$prev" = "--config" ]; then printf '%s\n' "$KAIGI_EXTRA_YAML" >> "$a"; fi
  prev=$a
done
exec "$KAIGI_REAL_BIN" "$@"
