#!/bin/sh
# srv.sh with the runtime's adaptive goroutine stack start off (the experiment: measured, not shipped).
[ -n "$MEAS_PIDFILE" ] && echo $$ > "$MEAS_PIDFILE"
GODEBUG=adaptivestackstart=0 exec /work/tmpbin-Meas/kaigi-31c53ee "$@"
