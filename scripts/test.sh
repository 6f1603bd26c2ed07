#!/usr/bin/env bash
# Runs kiln's whole test suite: vet, staticcheck, unit, fuzz seeds and the
# Docker end-to-end tests. Installs the Debian packages the tests need to make
# their own inputs (a Python base assembled with debootstrap, wheels with a C
# extension compiled by gcc and cross-compiled for arm64).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(debootstrap python3.11-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross dpkg-dev file ca-certificates)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "test.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The wheel builder downloads Debian's own python3-* packages with apt: its lists must be fresh.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
	apt-get update -qq
fi

if ! docker info >/dev/null 2>&1; then
	if [ "${CI:-}" = "true" ]; then
		echo "test.sh: the Docker engine is not reachable; the end-to-end tests need it (CI=true never skips them)" >&2
		exit 1
	fi
	echo "test.sh: warning: no Docker engine; end-to-end tests will be skipped" >&2
fi

gofmt_out=$(gofmt -l cmd internal e2e 2>/dev/null || true)
if [ -n "$gofmt_out" ]; then
	echo "test.sh: not gofmt-clean:" >&2
	echo "$gofmt_out" >&2
	exit 1
fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -count=1 -timeout 25m ./...
