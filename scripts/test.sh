#!/usr/bin/env bash
# Runs kiln's whole test suite: vet, staticcheck, unit, fuzz seeds and the
# Docker end-to-end tests. Installs the Debian packages the tests need to make
# their own inputs (a Python base assembled with debootstrap, wheels with a C
# extension compiled by gcc and cross-compiled for arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
export HOME="${HOME:-/root}"

if ! docker info >/dev/null 2>&1; then
	if [ "${CI:-}" = "true" ]; then
		echo "test.sh: the Docker engine is not reachable; the end-to-end tests need it (CI=true never skips them)" >&2
		exit 1
	fi
	echo "test.sh: warning: no Docker engine; end-to-end tests will be skipped" >&2
fi

bash scripts/deps.sh
# Build the Debian Python base before the tests, so that no test's timeout
# includes debootstrap (a no-op when it is cached).
go run ./internal/testbase/cmd/mkbase >/dev/null

gofmt_out=$(gofmt -l cmd internal e2e bench 2>/dev/null || true)
if [ -n "$gofmt_out" ]; then
	echo "test.sh: not gofmt-clean:" >&2
	echo "$gofmt_out" >&2
	exit 1
fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -count=1 -timeout 25m ./...
