#!/bin/bash
# sample.sh PIDFILE OUT: once PIDFILE names a process, appends every 0.5 s until it ends:
# "unix-time VmRSS RssAnon RssFile RssShmem Threads" (kB, from /proc/PID/status).
pidf=$1; out=$2
for i in $(seq 300); do [ -s "$pidf" ] && break; sleep 0.1; done
pid=$(cat "$pidf" 2>/dev/null) || exit 0
while [ -r /proc/$pid/status ]; do
  awk -v t="$(date +%s.%N)" '/^(VmRSS|RssAnon|RssFile|RssShmem|Threads):/ {v[$1]=$2}
    END {if (v["VmRSS:"] != "") print t, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["RssShmem:"], v["Threads:"]}' /proc/$pid/status >> "$out" 2>/dev/null
  sleep 0.5
done
