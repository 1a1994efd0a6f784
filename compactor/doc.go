// Package compactor is the compactor role's storage work: it merges small segment objects
// into large ones, removes data past retention, and deletes objects no index row reaches.
// (The role's timers and transaction checks live in package scheduler.)
//
// Three rules hold throughout:
//
//   - A merge never changes which message sits at (queue, offset). It copies the records
//     of index rows into a new object, PUTs it, and then, in ONE Postgres transaction,
//     deletes exactly the rows it read (all of them unchanged, or nothing happens) and
//     inserts rows covering the same offsets in the new object.
//   - Nothing is deleted while an index row (chunks, timers or transaction_chunks) points
//     at it, nor before a grace period after the last one went (ReadGrace), so a reader
//     that just looked a row up can still fetch the object.
//   - Several compactors may run: queues are shared through leases in Postgres, segment
//     deletion through SKIP LOCKED, and cluster-wide periodic jobs (the bucket listing)
//     through claimed run times. Leases only avoid duplicate work; the swap's check of
//     the rows it replaces is what makes a lost lease or a killed compactor harmless.
//
// # Merge
//
// A segment's level counts how often its bytes were rewritten: 0 for a flush, 1 and 2 for
// merges. Per queue, consecutive small rows (shorter than TargetChunkBytes) of one level
// form runs; a run is cut into groups of at least TargetChunkBytes, each merged into one
// chunk (a few if its records exceed the raw chunk limit) at the next level. The smaller
// rest of a level-0 run is merged too once it holds a row older than MergeAge (or the
// flush segments outnumber MaxSmallSegments); that of a level-1 run once it has two rows
// or more and is older than SettleAge. A rest merged in the same pass as a full group joins
// it, so every chunk of the pass reaches the target. Level-2 rows are never rewritten, so
// compaction writes each byte at most twice; rows already at the target are never
// rewritten at all. One merge takes up to MaxMergeBytes of rows of many queues, reads each
// source object with as few ranged GETs as it can (ranges of one object closer than 1 MiB
// are read together), and writes one object per output level, its chunks grouped by
// queue and in offset order.
//
// The search for work skips segments whose mergeable flag is clear: flush segments past
// MergeAge with no small rows left (and no timers or transaction rows that could add
// some), level-1 segments twice past SettleAge once a run has seen all work, and level 2.
//
// A killed merge leaves its uploaded object registered in compactor_uploads, not indexed:
// the orphan collector deletes it after OrphanGrace, and the rows it meant to replace are
// untouched, so the next merge (by any compactor, once the lease expires) does the work.
//
// # Retention
//
// For each queue whose oldest row is older than its topic's retention, the longest prefix
// of messages stored before the cutoff is removed: rows wholly inside it are deleted and
// the queue's min_offset rises to its end (a row straddling the cutoff is decoded to find
// the exact offset). Consumers behind min_offset continue from it.
//
// # Garbage collection
//
// A segment whose rows are all gone gets unreferenced_at set (by the merge or retention
// that removed its last row, or by a sweep, once a minute, for rows others removed); after
// ReadGrace its row is deleted, re-checking references under a row lock, and then its
// object. Objects under KeyPrefix that no segment row names and no live upload registration claims are
// orphans, deleted once older than OrphanGrace. Transactions finished more than
// TransactionTTL ago are deleted with their half-message references.
package compactor
