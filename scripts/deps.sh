#!/usr/bin/env bash
# Installs the Debian packages kiln's tests and example use to make their own
# inputs here, where no PyPI and no Docker Hub are reachable: debootstrap for
# the Python base, gcc and Python headers for the C extension wheel, the
# aarch64 cross compiler for its arm64 twin.
set -euo pipefail
packages=(debootstrap debian-archive-keyring gcc python3.11-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross curl ca-certificates)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
