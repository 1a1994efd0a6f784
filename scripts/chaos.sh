#!/usr/bin/env bash
# The long chaos run (`make chaos`): a cluster of 2 ingest, 2 reader and 1 compactor floe
# processes with Postgres and MinIO, producers and consumers of every message type, and a
# seeded schedule of faults; then the checker's report (docs/chaos.md explains it).
#   CHAOS_DURATION  load and faults per seed (default 5m)
#   CHAOS_SEEDS     comma-separated seeds, one run each (default 1)
#   CHAOS_FLAGS     more flags for cmd/floe-chaos (see `go run ./cmd/floe-chaos -h`)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql)" >&2
  exit 1
fi
FLOE_MINIO_BIN="$(scripts/minio.sh)"
export FLOE_MINIO_BIN

mkdir -p bin
go build -o bin/floe-chaos ./cmd/floe-chaos
# shellcheck disable=SC2086 # CHAOS_FLAGS is a list of flags
exec bin/floe-chaos -duration "${CHAOS_DURATION:-5m}" -seeds "${CHAOS_SEEDS:-1}" ${CHAOS_FLAGS:-} "$@"
