#!/bin/sh
# kaigi serve with webrtc.udp_port 40000 (exec'd, so the load test measures the server itself); the single socket's queue and drops sampled every 10 s
prev=
for a in "$@"; do
  if [ "$prev" = --config ]; then printf 'webrtc:\n  udp_port: 40000\n' >> "$a"; fi
  prev=$a
done
me=$$
( i=0; while [ -e /proc/$me ] && ! grep -q '^State:.*Z' /proc/$me/status; do sleep 10; i=$((i+1)); [ -e /proc/$me ] && ! grep -q "^State:.*Z" /proc/$me/status && ss -uanm 'sport = :40000' > /tmp/p3/ab/ss-fix-$me-$i.txt 2>&1; done ) </dev/null >/dev/null 2>&1 &
exec /tmp/p3/kaigi-fix "$@"
