#!/usr/bin/env bash
# Install what dumpfleet needs on Debian 12 (as root, when anything is
# missing), then configure and build into build/ (or $1). Further packages
# can be named in DF_EXTRA_PACKAGES (the clang test build needs clang).
# DF_SETUP_PACKAGES_ONLY=1 stops after the packages (a cached image layer).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true

read -ra extra_packages <<<"${DF_EXTRA_PACKAGES:-}"
packages=(build-essential cmake pkg-config git libzmq3-dev libprotobuf-c-dev
	protobuf-c-compiler liblmdb-dev libcmocka-dev libjansson-dev
	libsodium-dev libinih-dev libmicrohttpd-dev libarchive-dev
	libseccomp-dev "${extra_packages[@]}")
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages: ${missing[*]} (run as root)" >&2
		exit 3
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "${DF_SETUP_PACKAGES_ONLY:-0}" = 1 ] && exit 0

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
echo "setup: built $build/cli/dumpfleet" >&2
