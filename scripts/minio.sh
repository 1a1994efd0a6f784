#!/usr/bin/env bash
# Prints the path of the pinned MinIO server binary, building it into the cache first if
# it is not there yet (about 5 minutes on a 2-core machine; later runs reuse it).
set -euo pipefail
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
cache="${FLOE_CACHE_DIR:-$HOME/.cache/floe}/minio-${MINIO_VERSION}"
bin="$cache/minio"
if [ ! -x "$bin" ]; then
  echo "building MinIO ${MINIO_VERSION} into $cache (once; about 5 minutes)..." >&2
  mkdir -p "$cache"
  # Build outside the repository so its go.mod does not apply.
  (cd "$(mktemp -d)" && GOFLAGS=-mod=mod GOBIN="$cache" go install "github.com/minio/minio@${MINIO_VERSION}") >&2
fi
echo "$bin"
