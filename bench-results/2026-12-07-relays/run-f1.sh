#!/bin/bash
# After run-all.sh: fan-out 1→1, direct against relays, 3 rounds: with 1→10/50/200 it separates what a
# subscriber costs from what is paid once (the publisher, code pages, first-use allocations).
cd "$(dirname "$0")"
ROUNDS="1 2 3" SCEN="f1" ./sitting.sh
