#!/bin/bash
# What ran: rounds 1-3 with the experiment's pairs, rounds 4-5 without.
cd "$(dirname "$0")"
ROUNDS="1 2 3" SCEN="f10 f50 f200 f200x m10 m10x m20" ./sitting.sh
ROUNDS="4 5" SCEN="f10 f50 f200 m10 m20" ./sitting.sh
