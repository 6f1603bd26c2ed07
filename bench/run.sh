#!/usr/bin/env bash
# Runs kiln's benchmark against docker build and writes bench/results/
# (RESULTS.md, results.json, chart.png). Extra arguments go to the harness,
# e.g. `bash bench/run.sh -runs 5` or `-services asgi-service`.
#
# It makes its inputs first, each cached after the first run: the Debian
# Python base (debootstrap, as the tests use), the wheels (built from Debian
# source packages by bench/wheels.sh) and kiln itself. The machine should
# be otherwise idle: CPU and memory are read machine-wide.
set -euo pipefail
cd "$(dirname "$0")/.."
export HOME="${HOME:-/root}"

if ! docker info >/dev/null 2>&1; then
	echo "bench/run.sh: the Docker engine is not reachable" >&2
	exit 1
fi
bash scripts/deps.sh
bases=$(go run ./internal/testbase/cmd/mkbase)
layout=$(sed -n 1p <<<"$bases")
archive=$(sed -n 2p <<<"$bases")
wheels=$(bash bench/wheels.sh)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/kiln" ./cmd/kiln
go run ./bench -kiln "$bin/kiln" -wheels "$wheels" -base-layout "$layout" -base-archive "$archive" "$@"
echo "bench/run.sh: results in bench/results/RESULTS.md" >&2
