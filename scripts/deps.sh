#!/bin/sh
# Install what sockaudit needs to build and test, and nothing that is
# already there.  Idempotent: when every package is installed it only
# checks, and it runs 'apt-get update' only when something is missing.
set -eu

# build: compiler, pkg-config, libmnl, cJSON; tests: Check, and the
# oracles the real-socket tests compare against (ss from iproute2, jq).
# lint and memory checks: cppcheck, clang-tidy, valgrind; fuzzing: clang
# and libFuzzer (libclang-rt-14-dev, only recommended by clang-14).
packages="gcc make pkg-config libmnl-dev libcjson-dev check iproute2 jq cppcheck clang-tidy valgrind clang libclang-rt-14-dev"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root or install them" >&2
	exit 1
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
