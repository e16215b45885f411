#!/usr/bin/env bash
# deps.sh - installs what building and testing roster needs, if missing (Debian).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libsodium-dev libssl-dev liblmdb-dev lmdb-utils libevent-dev
	libjansson-dev libinih-dev libcurl4-openssl-dev libunistring-dev libcsv-dev libsystemd-dev libjemalloc-dev groff-base curl python3
	util-linux clang libclang-rt-14-dev clang-tidy cppcheck)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
