#!/bin/sh
# kaigi serve with webrtc.udp_port 40000 (exec'd, so the load test measures the server itself)
prev=
for a in "$@"; do
  if [ "$prev" = --config ]; then printf 'webrtc:\n  udp_port: 40000\n' >> "$a"; fi
  prev=$a
done
exec /work/tmpbin-lead/kaigi-ec96884 "$@"
