#!/usr/bin/env bash
# Builds examples/flask-service into the local Docker engine with kiln, and
# runs it on 127.0.0.1:8000.
#
# The base is assembled by kiln itself from Debian's signed archive
# (--base deb:bookworm). With no PyPI reachable, the wheels are made here
# first: repackaged from Debian's python3-* packages plus one with a C
# extension compiled by gcc, served by a PEP 691 index on 127.0.0.1:3141
# that the example's uv.lock points at.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

work=.kiln-example
mkdir -p "$work/bin"
go build -o "$work/bin/kiln" ./cmd/kiln
go build -o "$work/bin/serve" ./internal/testindex/cmd/serve
go build -o "$work/bin/mkwheels" ./internal/testwheels/cmd/mkwheels

if [ ! -d "$work/wheels" ]; then
	echo "example.sh: building the wheelhouse" >&2
	"$work/bin/mkwheels" -o "$work/wheels.tmp"
	mv "$work/wheels.tmp" "$work/wheels"
fi

"$work/bin/serve" -dir "$work/wheels" -addr 127.0.0.1:3141 -uvlock examples/flask-service &
index=$!
trap 'kill $index 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	curl -fsS -o /dev/null http://127.0.0.1:3141/simple/ 2>/dev/null && break
	sleep 0.2
done
if ! kill -0 "$index" 2>/dev/null; then
	echo "example.sh: the package index did not start (is 127.0.0.1:3141 in use?)" >&2
	exit 1
fi

"$work/bin/kiln" build examples/flask-service --base deb:bookworm \
	--platform linux/amd64 --output docker-daemon:flask-service:latest

docker rm -f flask-service >/dev/null 2>&1 || true
docker run -d --name flask-service -p 127.0.0.1:8000:8000 flask-service:latest >/dev/null
for _ in $(seq 60); do
	curl -fsS http://127.0.0.1:8000/health 2>/dev/null && break
	sleep 0.5
done
echo
curl -fsS http://127.0.0.1:8000/
echo
echo "example.sh: flask-service is running on http://127.0.0.1:8000 (stop it with: docker rm -f flask-service)" >&2
