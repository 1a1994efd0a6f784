#!/usr/bin/env bash
# The soak run (`make soak`): scripts/bench.sh's MinIO, private Postgres and one floe
# process with every role (compactor on), driven by `floe bench soak` for SOAK_DURATION
# (default 30m) at 15,000 msg/s, sampled every 30 s. It writes result.json, result.md,
# chart.svg and workload-chart.svg to SOAK_OUT and ends with one line saying which targets
# held; the exit status is 1 if any was missed.
# Usage: scripts/soak.sh [floe bench soak flags...], e.g. --rate 5000 --producers 80
# Settings: SOAK_DURATION (30m), SOAK_MERGE_AGE (the compactor's merge age, 10m),
# SOAK_READ_GRACE (10m), SOAK_CACHE_BYTES (the reader cache, 268435456), SOAK_OUT
# (bench-results/soak-TIME); the node's roles and other flags: FLOE_BENCH_SERVER_FLAGS,
# such as "--roles ingest,reader" (the compaction targets are then not judged).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${SOAK_DURATION:-30m}"
merge_age="${SOAK_MERGE_AGE:-10m}"
read_grace="${SOAK_READ_GRACE:-10m}"
cache_bytes="${SOAK_CACHE_BYTES:-268435456}"
out="${SOAK_OUT:-bench-results/soak-$(date +%Y%m%d-%H%M%S)}"
# The node runs with the settings the targets are judged by.
export FLOE_BENCH_SERVER_FLAGS="--compactor-merge-age $merge_age --compactor-read-grace $read_grace --cache-bytes $cache_bytes ${FLOE_BENCH_SERVER_FLAGS:-}"
stdout="$(mktemp /tmp/floe-soak.XXXXXX)"
trap 'rm -f "$stdout"' EXIT
status=0
scripts/bench.sh soak --duration "$duration" --warmup 10s --merge-age "$merge_age" --read-grace "$read_grace" \
  --cache-bytes "$cache_bytes" --out "$out" "$@" | tee "$stdout" || status=$?
# bench.sh prints CPU and load lines after the run: repeat the verdict last.
echo
grep '^soak ' "$stdout" | tail -n 1 || echo "soak: no verdict (the run did not finish; see above)"
exit "$status"
