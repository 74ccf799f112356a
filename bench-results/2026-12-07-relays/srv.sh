#!/bin/sh
# kaigi serve as the load test starts it, exec'd (so the load test measures the server itself), after writing
# its process ID to $MEAS_PIDFILE for sample.sh (the variable has no KAIGI_ prefix: the server ignores it).
[ -n "$MEAS_PIDFILE" ] && echo $$ > "$MEAS_PIDFILE"
exec /work/tmpbin-Meas/kaigi-31c53ee "$@"
