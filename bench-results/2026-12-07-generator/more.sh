#!/bin/bash
while ! grep -q '^done' /tmp/G/runs/runs.log; do sleep 5; done
/tmp/G/pair.sh 200 6 new old
/tmp/G/pair.sh 200 7 old new
echo more-done >> /tmp/G/runs/runs.log
