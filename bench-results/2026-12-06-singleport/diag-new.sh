#!/bin/sh
# diagnostic: kaigi serve with webrtc.udp_port 40000, log level info, UDP counters of the namespace before and after, per-socket drops sampled (not exec'd: CPU figures are the shell's)
prev=
args=
for a in "$@"; do
  if [ "$prev" = --config ]; then printf 'webrtc:\n  udp_port: 40000\n' >> "$a"; fi
  if [ "$prev" = --log-level ]; then a=info; fi
  args="$args $a"
  prev=$a
done
grep -E '^Udp:' /proc/net/snmp >&2
trap 'kill -TERM $pid' TERM
/tmp/p3/kaigi-new $args &
pid=$!
( i=0; while kill -0 $pid 2>/dev/null; do sleep 10; i=$((i+1)); ss -uanmp > /tmp/p3/diag/ss-new-$pid-$i.txt 2>&1; done ) &
wait $pid
wait $pid
grep -E '^Udp:' /proc/net/snmp >&2
