#!/usr/bin/env bash
# The project's test command (`make test`): unit and integration tests against a real
# PostgreSQL (started by the tests from the local installation) and a real MinIO server
# (built once into a cache folder, started by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql)" >&2
  exit 1
fi
FLOE_MINIO_BIN="$(scripts/minio.sh)"
export FLOE_MINIO_BIN
export FLOE_TEST_REQUIRE_MINIO=1

go vet ./...
# One package at a time: the end-to-end and fault-injection packages each run clusters of
# processes, and two of them at once on 2 cores starve each other's timeouts.
go test -count=1 -p 1 -timeout 45m "$@" ./...
