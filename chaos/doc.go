// Package chaos is Floe's Jepsen-style harness: it earns trust in the broker with evidence.
//
// StartCluster runs a small cluster of separate processes on loopback — 2 ingest, 2 reader
// and 1 compactor `floe serve` processes, one Postgres (pglocal) and one MinIO — with a TCP
// proxy between each floe process and each of Postgres and MinIO, so that a partition needs
// neither root nor network namespaces. RunOn drives producers and consumers of every message
// type (normal, FIFO, delay, transactional) over HTTP with uniquely identified bodies,
// applies a seeded fault schedule (Schedule: SIGKILL and restart, SIGSTOP/SIGCONT, Postgres
// immediate restart, MinIO restart, partitions), heals everything, drains the consumers,
// reads every queue by offset and hands the recorded History to Check.
//
// Check judges a History alone — so a test can feed it one made by hand — and reports, with
// counts: acknowledged messages lost, corrupted bodies, offsets not dense or not monotonic,
// FIFO order violations, delayed messages delivered early, half messages seen before commit
// or after rollback, duplicates against the retries that allow them, and how long produce
// and receive were unavailable around each fault. docs/chaos.md explains each check and
// holds the results; `make chaos` runs the long version, `go test ./chaos/` the CI one.
package chaos
