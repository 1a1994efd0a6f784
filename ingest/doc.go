// Package ingest is Floe's write path: it takes messages from producers, batches them,
// writes one segment object per flush to the bucket, commits the flush's index to Postgres
// in one transaction, and only then acknowledges the producers.
//
// A request's life:
//
//	Produce ─ validate, route each message to a queue, reserve buffer bytes
//	   │
//	   ▼
//	open batch ── cut by size (FlushBytes) or linger (Linger) ──▶ flush queue (in order)
//	                                                                  │
//	                                  upload (≤ MaxUploads at once): encode segment, PUT
//	                                                                  │
//	                                  commit (one at a time, in flush order): one Postgres tx
//	                                                                  │
//	                                  acknowledge every request of the batch, free its bytes
//
// A failed PUT or commit fails every request of that batch; nothing is acknowledged that is
// not both in the bucket and indexed. An object whose commit failed is an orphan, which the
// compactor deletes after a grace period. Commits are idempotent per object key, so a commit
// retried after a lost reply never assigns offsets twice.
package ingest
