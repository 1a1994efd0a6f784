#!/usr/bin/env bash
# The benchmark (`make bench`): a real MinIO and a private Postgres on this machine, one
# floe process with every role, and `floe bench` driving it over HTTP.
# Usage: scripts/bench.sh --workload workloads/X.yaml [--out DIR] [floe bench flags...]
#        scripts/bench.sh [produce|consume|drain|delay|lite|soak] [floe bench flags...]
# Extra flags for the floe server: FLOE_BENCH_SERVER_FLAGS="--roles ingest,reader".
# Extra flags for the split shape's reader nodes: FLOE_BENCH_READER_FLAGS="--read-ahead-bytes 0".
# FLOE_BENCH_SHAPE=split runs the deployed shape instead: one node with roles
# ingest,compactor (floe dev, which also runs Postgres) and two reader-only nodes
# (floe serve --roles reader) on the same Postgres and MinIO; floe bench produces to the
# first and, for drain runs, consumes from the readers (--readers) and sums the /metrics
# of all three.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-produce}"
case "$mode" in
  -*) mode="" ;;       # a workload run: every argument goes to floe bench
  *) shift || true ;;
esac
go build -trimpath -o bin/floe ./cmd/floe

minio_bin="$(scripts/minio.sh)"
work="$(mktemp -d /tmp/floe-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -n "${FLOE_BENCH_KEEP:-}" ]; then trap - EXIT; fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mport="$(free_port)"; fport="$(free_port)"
MINIO_ROOT_USER=floebench MINIO_ROOT_PASSWORD=floebench-secret MINIO_BROWSER=off \
  "$minio_bin" server --address "127.0.0.1:$mport" --console-address "127.0.0.1:$(free_port)" "$work/minio" >"$work/minio.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$mport/minio/health/live" >/dev/null && break; sleep 0.2; done

shape="${FLOE_BENCH_SHAPE:-single}"
case "$shape" in
  single) roles=() ;;
  split) roles=(--roles ingest,compactor) ;;
  *) echo "FLOE_BENCH_SHAPE must be single or split, got $shape" >&2; exit 2 ;;
esac
s3_flags=(--object-store s3 --s3-endpoint "http://127.0.0.1:$mport" --s3-bucket floe-bench --s3-path-style
  --s3-access-key-id floebench --s3-secret-access-key floebench-secret)
./bin/floe dev --data "$work/floe" --listen "127.0.0.1:$fport" --grpc-listen 127.0.0.1:0 --log-level warn \
  "${s3_flags[@]}" --s3-create-bucket "${roles[@]}" ${FLOE_BENCH_SERVER_FLAGS:-} >"$work/floe.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$fport/readyz" >/dev/null && break; sleep 0.2; done

pgport="$(sed -n 4p "$work/floe/pg/postmaster.pid" 2>/dev/null || true)"
pgurl="postgres://postgres@127.0.0.1:$pgport/floe?sslmode=disable"
extra=()
if { [ "$mode" = lite ] || [ "$mode" = soak ]; } && [ -n "$pgport" ]; then extra=(--database-url "$pgurl"); fi
reader_pids=()
if [ "$shape" = split ]; then
  if [ -z "$pgport" ]; then echo "split shape: floe dev's Postgres port not found in $work/floe/pg/postmaster.pid" >&2; exit 1; fi
  reader_urls=()
  for i in 1 2; do
    rport="$(free_port)"
    ./bin/floe serve --roles reader --listen "127.0.0.1:$rport" --grpc-listen "" --log-level warn \
      --database-url "$pgurl" --require-auth=false "${s3_flags[@]}" ${FLOE_BENCH_READER_FLAGS:-} >"$work/reader$i.log" 2>&1 &
    pids+=($!); reader_pids+=($!)
    for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$rport/readyz" >/dev/null && break; sleep 0.2; done
    reader_urls+=("http://127.0.0.1:$rport")
  done
  readers="$(IFS=,; echo "${reader_urls[*]}")"
  echo "split shape: ingest,compactor at http://127.0.0.1:$fport; readers at $readers" >&2
  case "$mode" in
    drain|"") extra+=(--readers "$readers") ;;
    *) echo "split shape: only drain runs consume from the reader nodes; $mode runs against the ingest node" >&2 ;;
  esac
fi
# cpu_ticks PID: CPU time (user+system clock ticks) of a process and, with "tree", of its
# descendants alive now (the postmaster's backends).
cpu_ticks() {
  local total=0 p
  for p in $1 $([ "${2:-}" = tree ] && descendants "$1"); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
floe_pid="${pids[1]}"; pg_pid="$(head -1 "$work/floe/pg/postmaster.pid" 2>/dev/null || echo "$floe_pid")"
# A soak records, each sample, the CPU of floe, MinIO and Postgres: on a shared machine
# they explain intervals that Floe's own readings do not.
if [ "$mode" = soak ]; then extra+=(--watch "floe=$floe_pid,minio=${pids[0]},postgres=$pg_pid"); fi
echo "load before: $(uptime)" >&2
floe_cpu() { local t=0 p; for p in "$floe_pid" "${reader_pids[@]}"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
cpu_before=("$(floe_cpu)" "$(cpu_ticks "$pg_pid" tree)" "$(cpu_ticks "${pids[0]}")")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); Postgres and MinIO on the same machine" >&2
TIMEFORMAT='CPU seconds of the floe bench client: user %U, system %S (wall %R)'
status=0
if [ -z "$mode" ]; then
  time ./bin/floe bench --url "http://127.0.0.1:$fport" "${extra[@]}" "$@" || status=$?
else
  time ./bin/floe bench "$mode" --url "http://127.0.0.1:$fport" "${extra[@]}" "$@" || status=$?
fi
hz="$(getconf CLK_TCK)"
cpu_after=("$(floe_cpu)" "$(cpu_ticks "$pg_pid" tree)" "$(cpu_ticks "${pids[0]}")")
awk -v hz="$hz" -v f="$((cpu_after[0] - cpu_before[0]))" -v p="$((cpu_after[1] - cpu_before[1]))" -v m="$((cpu_after[2] - cpu_before[2]))" \
  'BEGIN { printf "CPU seconds over the whole run (warmup included): floe %.1f (every node), Postgres %.1f, MinIO %.1f\n", f/hz, p/hz, m/hz }' >&2
echo "load after: $(uptime)" >&2
exit "$status"
