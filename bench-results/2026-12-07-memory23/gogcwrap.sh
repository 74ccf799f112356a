#!/bin/sh
# gogcwrap.sh: a "server binary" for kaigi loadtest --server-binary that
# runs $KAIGI_REAL_BIN with GOGC=$SERVER_GOGC (unset when empty), so only
# the server, not the load generator, gets the GC target under test
# (same PID: exec).
# With SERVER_GCTRACE=1 the runtime also prints a line per collection
# on the server's stderr (lt.err), for the collections' CPU (gctrace.py).
if [ -n "${SERVER_GOGC:-}" ]; then GOGC=$SERVER_GOGC; export GOGC; else unset GOGC; fi
if [ -n "${SERVER_GCTRACE:-}" ]; then GODEBUG=gctrace=1; export GODEBUG; fi
exec "$KAIGI_REAL_BIN" "$@"
