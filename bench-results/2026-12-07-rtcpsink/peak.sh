#!/bin/sh
# peak.sh SERVERBIN GENBIN SCENARIO N BITRATE: a fresh `kaigi serve` (no
# web client), the load test's set-up, then `kaigi loadtest --url` against
# it; the server's /metrics?gc=1 is sampled every 2 s while the load runs
# and the sample with the most goroutines is printed with the idle one.
# Run inside scripts/isolated.sh, under the bench lock.
bin=$1 gen=$2 scen=$3 n=$4 br=$5
tok=tok0123456789abcdef
d=$(mktemp -d /work/tmpbin-A/srv-XXXX)
printf 'meetings:\n  max_participants: 1000\nmetrics:\n  token: %s\n' $tok > $d/kaigi.yaml
taskset -c 0 $bin serve --listen 127.0.0.1:18080 --data $d/data --config $d/kaigi.yaml --log-level warn > $d/out.txt 2>$d/err.txt &
pid=$!
for i in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.5; done
curl -s -c $d/jar -H 'Content-Type: application/json' -d '{"email":"loadtest@example.org","name":"Load Test","password":"load test password"}' http://127.0.0.1:18080/api/auth/signup > /dev/null
id=$(curl -s -b $d/jar -H 'Content-Type: application/json' -d '{"settings":{"e2ee":false,"passcode":false,"waitingRoom":false,"joinBeforeHost":true,"screenShare":"everyone","unmute":"everyone","chat":"everyone","rename":"everyone"}}' http://127.0.0.1:18080/api/meetings | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
m() { curl -s -H "Authorization: Bearer $tok" 'http://127.0.0.1:18080/metrics?gc=1' | awk '/^go_goroutines /{g=$2} /^go_memstats_heap_alloc_bytes /{h=$2} /^go_memstats_heap_inuse_bytes /{u=$2} /^go_memstats_stack_inuse_bytes /{s=$2} /^process_resident_memory_bytes /{r=$2} END{printf "goroutines %d heap_alloc %.2f heap_inuse %.2f stack_inuse %.2f rss %.2f\n", g, h/1048576, u/1048576, s/1048576, r/1048576}'; }
sleep 2; m >/dev/null; sleep 1.2
echo "idle $(m)"
KAIGI_METRICS_TOKEN=$tok taskset -c 1 $gen loadtest --url http://127.0.0.1:18080 --meeting "$id" --scenario $scen --n $n --bitrate $br --quiet --json > $d/lt.json 2>$d/lt.err &
lt=$!
best=0 line=
while kill -0 $lt 2>/dev/null; do
  sleep 2
  l=$(m); g=$(echo "$l" | awk '{print $2}')
  if [ -n "$g" ] && [ "$g" -gt "$best" ]; then best=$g line=$l; fi
done
echo "peak $line"
echo "loadtest $(python3 -c "import json;j=json.load(open('$d/lt.json'));print('participants',j.get('participants'),'loss %.2f'%j['received']['lossPercent'])" 2>/dev/null || tail -1 $d/lt.err)"
kill $pid; wait $pid 2>/dev/null
rm -rf $d
