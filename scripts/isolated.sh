#!/bin/sh
# Runs a command in a private network namespace: loopback, plus one veth
# interface that exists only inside it (198.18.0.1, a benchmarking range),
# so media in tests and benchmarks never touches the machine's real
# addresses. Browsers without camera permission hide their addresses
# behind mDNS names and then gather no loopback candidates; the veth gives
# them an ordinary interface, as a real machine has.
#
#   scripts/isolated.sh COMMAND [ARG...]
#
# As root it uses `unshare -n`, otherwise `unshare -rn`; where neither
# works it warns and runs the command on plain loopback.
set -eu
isolated='ip link set lo up &&
	ip link add v0 type veth peer name v1 &&
	ip addr add 198.18.0.1/24 dev v0 &&
	ip link set v0 up && ip link set v1 up &&
	ip route add default via 198.18.0.2 &&
	exec "$@"'
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	exec unshare -n sh -c "$isolated" sh "$@"
elif unshare -rn true 2>/dev/null; then
	exec unshare -rn sh -c "$isolated" sh "$@"
fi
echo "warning: cannot make a network namespace here; running on plain loopback" >&2
exec "$@"
