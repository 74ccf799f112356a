#!/bin/sh
# ab.sh ROUNDS OUTDIR label=binary... : alternating runs of fanout 1→200 and meeting 10×10
rounds=$1 out=$2; shift 2
mkdir -p $out
for r in $(seq 1 $rounds); do
  for scen in "fanout 200 1500000" "meeting 10 500000"; do
    set -- "$@"
    for lb in "$@"; do
      label=${lb%%=*} bin=${lb#*=}
      s=$(echo $scen | awk '{print $1 $2}')
      echo "$(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $label $s round $r" >> $out/log.txt
      /tmp/A/run.sh $bin $scen $out/$s-$label-$r
    done
  done
done
echo "$(date +%T) done" >> $out/log.txt
