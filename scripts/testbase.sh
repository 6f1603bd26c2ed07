#!/usr/bin/env bash
# Builds (once) the Debian bookworm Python base images that the tests use, so
# that `go test ./...` finds them cached instead of building them inside a
# test. Prints the OCI layout path, then the amd64 docker archive path.
#
# Needs root and Debian's archive; installs debootstrap if it is missing.
# Cache: $KILN_TEST_CACHE (default ~/.cache/kiln-test). Mirror:
# $KILN_TEST_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec go run ./internal/testbase/cmd/mkbase
