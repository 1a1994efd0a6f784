package metadata

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery is a range of a queue that a group has not finished (see the deliveries table).
type Delivery struct {
	ID          int64
	QueueRef    int64
	FirstOffset int64
	Count       int
	Done        []byte
	Attempt     int
	Version     int
	VisibleAt   time.Time
}

// IsDone reports whether the i-th message of the range is finished.
func (d *Delivery) IsDone(i int) bool {
	return i < 0 || i >= d.Count || d.Done[i/8]&(1<<(i%8)) != 0
}

// NewDoneBitmap returns a bitmap for count messages, none done.
func NewDoneBitmap(count int) []byte { return make([]byte, (count+7)/8) }

// SetDone marks message i of a bitmap done.
func SetDone(b []byte, i int) { b[i/8] |= 1 << (i % 8) }

// ConsumeQueue is one queue locked by a receive: where the group's cursor is, where the
// queue ends, and the group's unfinished deliveries on it.
type ConsumeQueue struct {
	Ref int64
	// ReadySeq is the queue's ready_queues sequence when read (nil: no row).
	ReadySeq   *int64
	QueueID    int
	LiteTopic  string
	Cursor     int64
	NextOffset int64
	MinOffset  int64
	Deliveries []Delivery
}

// ReceiveParams says which queues a receive may take work from.
type ReceiveParams struct {
	Group string
	// Topic is the topic whose queues (of the group) the receive may lock.
	Topic string
	// MaxQueues bounds how many queues one receive locks.
	MaxQueues int
	// AllDeliveries loads every unfinished delivery of a locked queue, visible or not
	// (orderly groups need them to know which message groups are blocked); otherwise only
	// the visible ones.
	AllDeliveries bool
	// Priority, for a PRIORITY topic, locks queues in priority order instead of at random.
	Priority *PriorityOrder
}

// ReceiveState is what a receive sees inside its transaction.
type ReceiveState struct {
	// Now is the database's clock at the start of the transaction.
	Now time.Time
	// Queues are the queues locked so far, with work (new messages or visible deliveries).
	Queues []ConsumeQueue
	// NextVisible is when the earliest hidden delivery of the group's queues becomes
	// visible (zero if none): a waiting receive sleeps no longer than that.
	NextVisible time.Time
	// Contended is true when some queues with work were skipped because another receive
	// held them.
	Contended bool
	// ReadyQueues counts the queues marked ready (with new messages) when the receive began.
	ReadyQueues int
	// Exhausted is true when the receive stopped because no queue with work was left to
	// lock (not because the planner was satisfied or MaxQueues were locked): short of
	// Contended, it took all there was.
	Exhausted bool
	// ChunksFrom reads the chunk index inside the receive's transaction (see
	// Store.ChunksFrom), so a receive stays one transaction.
	ChunksFrom func(ctx context.Context, queueRef, offset int64, max int) ([]Chunk, error)
}

// DeliveryUpdate changes a delivery row: it marks messages done and, if Redeliver, hands
// the row's remaining messages out again (version+1) with a new attempt and visibility.
type DeliveryUpdate struct {
	ID        int64
	SetDone   []int32
	Redeliver bool
	Attempt   int
	VisibleAt time.Time
}

// DeliveryInsert adds a delivery row.
type DeliveryInsert struct {
	QueueRef    int64
	FirstOffset int64
	Count       int
	Done        []byte
	Attempt     int
	VisibleAt   time.Time
}

// DrainedQueue is a queue a receive consumed to its end, with the sequence it saw.
type DrainedQueue struct {
	QueueRef int64
	Seq      int64
}

// CursorMove advances a group's cursor on a queue.
type CursorMove struct {
	QueueRef int64
	Cursor   int64
}

// DeadLetter appends one stored message to the group's dead-letter topic, by reference.
type DeadLetter struct {
	// Source is the index row the message was read through; Index is the message's record
	// index inside the stored chunk (Source.Skip + its position in the row).
	Source    Chunk
	Index     int
	StoreTime time.Time
	Bloom     []byte
}

// ReceivePlan is what a receive decided; Store.Receive applies it in the same transaction.
type ReceivePlan struct {
	// Drained lists queues whose new messages the receive took to the end: their
	// ready_queues rows go, unless a commit bumped the sequence meanwhile.
	Drained     []DrainedQueue
	Updates     []DeliveryUpdate
	Inserts     []DeliveryInsert
	Cursors     []CursorMove
	DeadLetters []DeadLetter
}

// ReceiveResult reports the ids of inserted rows (in plan order) and the versions that
// redelivered rows now have.
type ReceiveResult struct {
	InsertIDs []int64
	Versions  map[int64]int
}

// DLQTopic is the name of a group's dead-letter topic.
func DLQTopic(group string) string { return "%DLQ%" + group }

// ReceivePlanner decides a receive inside its transaction, one locked queue at a time.
type ReceivePlanner interface {
	// Queue plans what to hand out of one locked queue and says whether it wants another.
	Queue(ctx context.Context, st *ReceiveState, q *ConsumeQueue) (more bool, err error)
	// Plan returns the decisions to apply.
	Plan() ReceivePlan
}

// Receive runs one receive as ONE transaction: it locks the group's queues of the topic
// that have work one at a time, at random (skipping those another receive holds), loads
// each one's deliveries and lets the planner choose what to hand out, until the planner
// is satisfied, MaxQueues are locked or none is left; then it applies the plan.
//
// Locks never form a cycle with acks: with AllDeliveries (orderly groups, one queue per
// receive) a queue's delivery rows are locked in id order in one statement, like acks lock
// theirs; otherwise delivery rows another transaction holds are skipped.
//
// Statements travel in pipelines, so that a receive of one queue costs four round trips
// (begin and lock a queue; its deliveries and chunk index; the plan; commit): a queue stays
// locked for as short a time as the planner allows.
func (s *Store) Receive(ctx context.Context, p ReceiveParams, planner ReceivePlanner) (ReceiveState, ReceiveResult, error) {
	var res ReceiveResult
	var st ReceiveState
	err := s.inPipelinedTx(ctx, "receive", func(c *pgx.Conn) error {
		// The chunk index from the cursor of the queue just locked, read with its
		// deliveries: the planner's first look at new messages needs no round trip.
		var pre struct {
			ref, offset int64
			chunks      []Chunk
		}
		st = ReceiveState{ChunksFrom: func(ctx context.Context, queueRef, offset int64, max int) ([]Chunk, error) {
			if pre.chunks != nil && queueRef == pre.ref && offset == pre.offset && max == prefetchChunks {
				out := pre.chunks
				pre.chunks = nil
				return out, nil
			}
			return chunksFrom(ctx, c, queueRef, offset, max)
		}}
		batch := txBatch()
		batch.Queue(`SELECT now()`)
		batch.Queue(`SELECT count(*) FROM ready_queues WHERE group_name = $1 AND topic = $2`, p.Group, p.Topic)
		locked := []int64{}
		lockSQL, lockArgs := p.lockQueue(locked)
		batch.Queue(lockSQL, lockArgs...)
		br := c.SendBatch(ctx, batch)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("beginning: %w", err)
		}
		if err := br.QueryRow().Scan(&st.Now); err != nil {
			br.Close()
			return fmt.Errorf("reading clock: %w", err)
		}
		if err := br.QueryRow().Scan(&st.ReadyQueues); err != nil {
			br.Close()
			return fmt.Errorf("counting queues with new messages: %w", err)
		}
		qs, err := collectLockedQueue(br)
		if err != nil {
			br.Close()
			return err
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("reading receive state: %w", err)
		}

		lockedWithNew := 0
		st.Exhausted = true
		for len(qs) > 0 {
			q := qs[0]
			locked = append(locked, q.Ref)
			cursor := max(q.Cursor, q.MinOffset)
			if q.Cursor < q.NextOffset {
				lockedWithNew++
			}
			lock := "FOR UPDATE SKIP LOCKED"
			if p.AllDeliveries {
				lock = "FOR UPDATE"
			}
			batch := &pgx.Batch{}
			batch.Queue(`SELECT id, queue_ref, first_offset, record_count, done, attempt, version, visible_at
				FROM deliveries WHERE group_name = $1 AND queue_ref = $2 AND ($3 OR visible_at <= now())
				ORDER BY id `+lock, p.Group, q.Ref, p.AllDeliveries)
			if cursor < q.NextOffset {
				batch.Queue(chunksFromSQL, q.Ref, cursor, prefetchChunks)
			}
			br := c.SendBatch(ctx, batch)
			drows, err := br.Query()
			if err != nil {
				br.Close()
				return fmt.Errorf("loading deliveries: %w", err)
			}
			q.Deliveries, err = pgx.CollectRows(drows, scanDelivery)
			if err != nil {
				br.Close()
				return fmt.Errorf("loading deliveries: %w", err)
			}
			if cursor < q.NextOffset {
				crows, err := br.Query()
				if err != nil {
					br.Close()
					return fmt.Errorf("reading chunk index of queue %d: %w", q.Ref, err)
				}
				chunks, err := collectChunksFrom(crows, q.Ref, cursor, prefetchChunks)
				if err != nil {
					br.Close()
					return err
				}
				pre.ref, pre.offset, pre.chunks = q.Ref, cursor, chunks
			}
			if err := br.Close(); err != nil {
				return fmt.Errorf("loading deliveries: %w", err)
			}
			sort.Slice(q.Deliveries, func(a, b int) bool { return q.Deliveries[a].FirstOffset < q.Deliveries[b].FirstOffset })
			st.Queues = append(st.Queues, q)
			more, err := planner.Queue(ctx, &st, &st.Queues[len(st.Queues)-1])
			if err != nil {
				return err
			}
			pre.chunks = nil
			if !more || len(locked) >= p.MaxQueues {
				st.Exhausted = false
				break
			}
			lockSQL, lockArgs := p.lockQueue(locked)
			rows, err := c.Query(ctx, lockSQL, lockArgs...)
			if err != nil {
				return fmt.Errorf("locking a queue: %w", err)
			}
			if qs, err = pgx.CollectRows(rows, scanLockedQueue); err != nil {
				return fmt.Errorf("locking a queue: %w", err)
			}
		}
		st.Contended = st.ReadyQueues > lockedWithNew && len(locked) < p.MaxQueues
		plan := ReceivePlan{}
		if len(locked) > 0 {
			plan = planner.Plan()
		}
		// When is the next hidden delivery due? Only a receive that hands nothing out, or
		// that took all there was, needs to know (its node's receives sleep until then); it
		// is asked with the plan.
		wantNext := st.Exhausted || (len(plan.Inserts) == 0 && len(plan.Updates) == 0)
		res, st.NextVisible, err = applyPlan(ctx, c, p, plan, wantNext)
		return err
	})
	return st, res, err
}

// prefetchChunks is how many index rows a receive reads with a queue's deliveries (the
// planner's ChunksFrom asks for as many).
const prefetchChunks = 4

// lockCandidatesSQL selects the queues of a group with work that another receive does not
// hold: $1 group, $2 topic, $3 queues already locked. Candidates are queues marked ready by
// commits, and queues with deliveries due again; both found by index, never by scanning
// every queue the group consumes. The statements that use it add their order and the lock.
const lockCandidatesSQL = `SELECT gq.queue_ref, r.seq, q.queue_id, q.lite_topic, gq.cursor, q.next_offset, q.min_offset
	FROM group_queues gq JOIN queues q ON q.id = gq.queue_ref
	LEFT JOIN ready_queues r ON r.group_name = gq.group_name AND r.queue_ref = gq.queue_ref
	WHERE gq.group_name = $1 AND gq.queue_ref <> ALL($3)
	  AND gq.queue_ref IN (
	        SELECT r2.queue_ref FROM ready_queues r2 WHERE r2.group_name = $1 AND r2.topic = $2
	        UNION
	        SELECT d.queue_ref FROM deliveries d JOIN queues q2 ON q2.id = d.queue_ref
	        WHERE d.group_name = $1 AND d.visible_at <= now() AND q2.topic = $2)
	  AND (gq.cursor < q.next_offset OR EXISTS (SELECT 1 FROM deliveries d
	        WHERE d.group_name = $1 AND d.queue_ref = gq.queue_ref AND d.visible_at <= now()))
	`

// lockQueueSQL locks one of the candidate queues, at random.
const lockQueueSQL = lockCandidatesSQL + `ORDER BY random() LIMIT 1
	FOR UPDATE OF gq SKIP LOCKED`

func collectLockedQueue(br pgx.BatchResults) ([]ConsumeQueue, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("locking a queue: %w", err)
	}
	qs, err := pgx.CollectRows(rows, scanLockedQueue)
	if err != nil {
		return nil, fmt.Errorf("locking a queue: %w", err)
	}
	return qs, nil
}

func scanLockedQueue(r pgx.CollectableRow) (ConsumeQueue, error) {
	var q ConsumeQueue
	err := r.Scan(&q.Ref, &q.ReadySeq, &q.QueueID, &q.LiteTopic, &q.Cursor, &q.NextOffset, &q.MinOffset)
	return q, err
}

func scanDelivery(r pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	err := r.Scan(&d.ID, &d.QueueRef, &d.FirstOffset, &d.Count, &d.Done, &d.Attempt, &d.Version, &d.VisibleAt)
	return d, err
}

// applyPlan writes a receive's decisions in one pipeline (and, with wantNext, reads when
// the group's earliest hidden delivery of the topic turns visible).
func applyPlan(ctx context.Context, c conn, p ReceiveParams, plan ReceivePlan, wantNext bool) (ReceiveResult, time.Time, error) {
	res := ReceiveResult{Versions: map[int64]int{}}
	var next time.Time
	group := p.Group
	batch := &pgx.Batch{}
	for _, u := range plan.Updates {
		setDone := u.SetDone
		if setDone == nil {
			setDone = []int32{}
		}
		if u.Redeliver {
			batch.Queue(`UPDATE deliveries SET done = floe_set_bits(done, $2), attempt = $3, version = version + 1,
				visible_at = $4, delivered_at = now() WHERE id = $1 RETURNING id, version`, u.ID, setDone, u.Attempt, u.VisibleAt)
		} else {
			batch.Queue(`UPDATE deliveries SET done = floe_set_bits(done, $2) WHERE id = $1 RETURNING id, version`, u.ID, setDone)
		}
	}
	for _, in := range plan.Inserts {
		batch.Queue(`INSERT INTO deliveries (group_name, queue_ref, first_offset, record_count, done, attempt, visible_at, delivered_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 > 0 THEN now() END) RETURNING id`,
			group, in.QueueRef, in.FirstOffset, in.Count, in.Done, in.Attempt, in.VisibleAt)
	}
	for _, c := range plan.Cursors {
		batch.Queue(`UPDATE group_queues SET cursor = $3 WHERE group_name = $1 AND queue_ref = $2`, group, c.QueueRef, c.Cursor)
	}
	// In queue order, as markReady locks them: in any other order the two deadlock.
	drained := slices.SortedFunc(slices.Values(plan.Drained), func(a, b DrainedQueue) int { return cmp.Compare(a.QueueRef, b.QueueRef) })
	for _, d := range drained {
		batch.Queue(`DELETE FROM ready_queues WHERE group_name = $1 AND queue_ref = $2 AND seq = $3`, group, d.QueueRef, d.Seq)
	}
	// Only rows this receive holds locked: touching others could deadlock with an ack.
	touched := make([]int64, 0, len(plan.Updates))
	for _, u := range plan.Updates {
		touched = append(touched, u.ID)
	}
	if len(touched) > 0 {
		batch.Queue(`DELETE FROM deliveries WHERE id = ANY($1) AND bit_count(done) >= record_count`, touched)
	}
	if wantNext {
		batch.Queue(`SELECT min(d.visible_at) FROM deliveries d JOIN queues q ON q.id = d.queue_ref
			WHERE d.group_name = $1 AND q.topic = $2 AND d.visible_at > now()`, p.Group, p.Topic)
	}
	if batch.Len() == 0 {
		return res, next, nil
	}
	br := c.SendBatch(ctx, batch)
	defer br.Close()
	for range plan.Updates {
		var id int64
		var v int
		if err := br.QueryRow().Scan(&id, &v); err != nil {
			return res, next, fmt.Errorf("updating delivery: %w", err)
		}
		res.Versions[id] = v
	}
	for range plan.Inserts {
		var id int64
		if err := br.QueryRow().Scan(&id); err != nil {
			return res, next, fmt.Errorf("inserting delivery: %w", err)
		}
		res.InsertIDs = append(res.InsertIDs, id)
	}
	for range plan.Cursors {
		if _, err := br.Exec(); err != nil {
			return res, next, fmt.Errorf("moving cursor: %w", err)
		}
	}
	for range plan.Drained {
		if _, err := br.Exec(); err != nil {
			return res, next, fmt.Errorf("clearing a drained queue: %w", err)
		}
	}
	if len(touched) > 0 {
		if _, err := br.Exec(); err != nil {
			return res, next, fmt.Errorf("removing finished deliveries: %w", err)
		}
	}
	if wantNext {
		var n *time.Time
		if err := br.QueryRow().Scan(&n); err != nil {
			return res, next, fmt.Errorf("reading next visibility: %w", err)
		}
		if n != nil {
			next = *n
		}
	}
	if err := br.Close(); err != nil {
		return res, next, fmt.Errorf("applying receive: %w", err)
	}
	if len(plan.DeadLetters) > 0 {
		if err := appendDeadLetters(ctx, c, group, plan.DeadLetters); err != nil {
			return res, next, err
		}
	}
	return res, next, nil
}

// appendDeadLetters indexes messages into the group's dead-letter topic (created on first
// use), pointing at the bytes already stored.
func appendDeadLetters(ctx context.Context, tx conn, group string, dls []DeadLetter) error {
	topic := DLQTopic(group)
	if _, err := tx.Exec(ctx, `INSERT INTO topics (name, type, queue_count, retention_hours, trace) VALUES ($1, 'NORMAL', 1, 72, false)
		ON CONFLICT (name) DO NOTHING`, topic); err != nil {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO queues (topic, queue_id) VALUES ($1, 0) ON CONFLICT DO NOTHING`, topic); err != nil {
		return fmt.Errorf("creating queue of %s: %w", topic, err)
	}
	var ref, first int64
	if err := tx.QueryRow(ctx, `UPDATE queues SET next_offset = next_offset + $2, last_write_at = now()
		WHERE topic = $1 AND queue_id = 0 AND lite_topic = '' RETURNING id, next_offset - $2`, topic, len(dls)).Scan(&ref, &first); err != nil {
		return fmt.Errorf("advancing %s: %w", topic, err)
	}
	if err := markReady(ctx, tx, []int64{ref}); err != nil {
		return err
	}
	batch := &pgx.Batch{}
	for i, dl := range dls {
		batch.Queue(`INSERT INTO chunks (queue_ref, first_offset, record_count, record_skip, segment_id, byte_offset, byte_length,
				min_store_time, max_store_time, bloom) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $7, $8)`,
			ref, first+int64(i), dl.Index, dl.Source.SegmentID, dl.Source.ByteOffset, dl.Source.ByteLength, dl.StoreTime, dl.Bloom)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("indexing dead letters of %s: %w", group, err)
	}
	return nil
}

// AckItem names one delivered message by its receipt.
type AckItem struct {
	DeliveryID int64
	Version    int
	QueueRef   int64
	Offset     int64
}

// Ack statuses.
const (
	AckOK      = "OK"
	AckExpired = "EXPIRED"
)

// Ack marks messages finished for a group in ONE transaction. A receipt
// whose delivery was handed out again since (its version moved on) is EXPIRED, unless the
// message is already finished, which makes acking idempotent.
// With notify, the transaction also notifies ChannelAcks (orderly groups wait on acks).
//
// The cost does not grow with the messages of a row: the receipts of one delivery row
// (usually all of a receive's) update that row once, setting every acked bit.
func (s *Store) Ack(ctx context.Context, group string, items []AckItem, notify bool) ([]string, error) {
	out := make([]string, len(items))
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.DeliveryID
		out[i] = AckExpired
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
	// Two round trips: the rows are locked and read, the acked bits are set here, and the
	// changed rows are written back with COMMIT in the same pipeline. Every statement finds
	// its rows by primary key with the actual ids (planned for them, never a cached plan
	// that chose to scan a table when it was small). Row locks are taken in id order, like
	// receive takes them, so the two cannot deadlock. Rows are found by id alone (ids are
	// never reused, and a signed receipt names a row of its group); the group is checked
	// on the row.
	err := s.inPipelinedTx(ctx, "ack", func(c *pgx.Conn) error {
		batch := txBatch()
		batch.Queue(`SELECT id, version, group_name = $2, first_offset, record_count, done
			FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE`, uniq, group)
		rows, err := readAckRows(ctx, c, batch)
		if err != nil {
			return err
		}
		var missed []int // items whose receipt names no current row
		for i, it := range items {
			r := rows[it.DeliveryID]
			if r == nil || r.version != it.Version || it.Offset < r.first || it.Offset >= r.first+int64(r.count) {
				missed = append(missed, i)
				continue
			}
			SetDone(r.done, int(it.Offset-r.first))
			r.changed = true
			out[i] = AckOK
		}
		var updIDs, delIDs []int64
		var updDone [][]byte
		for _, id := range uniq {
			r := rows[id]
			switch {
			case r == nil || !r.changed:
			case doneCount(&Delivery{Count: r.count, Done: r.done}) >= r.count:
				delIDs = append(delIDs, id)
			default:
				updIDs = append(updIDs, id)
				updDone = append(updDone, r.done)
			}
		}
		batch = &pgx.Batch{}
		if len(missed) > 0 {
			// A receipt that names no current row is OK if its message was finished
			// before this call (acked through another receipt, or dead-lettered): passed
			// by the cursor and in no delivery where it is not done. It runs first, so
			// that a stale receipt acked together with its current one is EXPIRED.
			mq := make([]int64, len(missed))
			mo := make([]int64, len(missed))
			for j, i := range missed {
				mq[j], mo[j] = items[i].QueueRef, items[i].Offset
			}
			batch.Queue(`SELECT t.i FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS t(queue_ref, off, i)
				WHERE EXISTS (SELECT 1 FROM group_queues WHERE group_name = $3 AND queue_ref = t.queue_ref AND cursor > t.off)
				  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.group_name = $3 AND d.queue_ref = t.queue_ref
					AND t.off >= d.first_offset AND t.off < d.first_offset + d.record_count
					AND get_bit(d.done, (t.off - d.first_offset)::int) = 0)`, mq, mo, group)
		}
		if len(updIDs) > 0 {
			batch.Queue(`UPDATE deliveries SET done = ($2::bytea[])[array_position($1::bigint[], id)] WHERE id = ANY($1)`, updIDs, updDone)
		}
		if len(delIDs) > 0 {
			batch.Queue(`DELETE FROM deliveries WHERE id = ANY($1)`, delIDs)
		}
		if notify {
			batch.Queue(`SELECT pg_notify($1, $2)`, ChannelAcks, group)
		}
		batch.Queue("COMMIT")
		br := c.SendBatch(ctx, batch)
		defer br.Close()
		if len(missed) > 0 {
			finished, err := br.Query()
			if err != nil {
				return fmt.Errorf("checking acked messages: %w", err)
			}
			for finished.Next() {
				var j int64
				if err := finished.Scan(&j); err != nil {
					finished.Close()
					return fmt.Errorf("checking acked messages: %w", err)
				}
				out[missed[j-1]] = AckOK // j is the ordinal within missed
			}
			if err := finished.Err(); err != nil {
				return fmt.Errorf("checking acked messages: %w", err)
			}
		}
		if len(updIDs) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("acking: %w", err)
			}
		}
		if len(delIDs) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("removing finished deliveries: %w", err)
			}
		}
		if notify {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("notifying ack: %w", err)
			}
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("committing: %w", err)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("acking: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ackRow is a delivery row as an ack reads it, locked.
type ackRow struct {
	version int
	first   int64
	count   int
	done    []byte
	changed bool
}

// readAckRows sends batch (BEGIN and the locking select of Ack) and returns the rows of
// the ack's group by id.
func readAckRows(ctx context.Context, c *pgx.Conn, batch *pgx.Batch) (map[int64]*ackRow, error) {
	br := c.SendBatch(ctx, batch)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("beginning: %w", err)
	}
	rs, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("locking deliveries: %w", err)
	}
	rows := map[int64]*ackRow{}
	for rs.Next() {
		var id int64
		var ofGroup bool
		r := &ackRow{}
		if err := rs.Scan(&id, &r.version, &ofGroup, &r.first, &r.count, &r.done); err != nil {
			rs.Close()
			return nil, fmt.Errorf("locking deliveries: %w", err)
		}
		if ofGroup && len(r.done)*8 >= r.count {
			rows[id] = r
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("locking deliveries: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("locking deliveries: %w", err)
	}
	return rows, nil
}

// Requeue takes one delivered message out of its delivery into a row of its own, hidden
// for hideFor(its attempt): nack (with the retry backoff) and change-invisible use it. The
// new row keeps the message's attempt. It returns the new row's id and version, or
// ok = false when the receipt is stale.
func (s *Store) Requeue(ctx context.Context, group string, it AckItem, hideFor func(attempt int) time.Duration) (id int64, version int, ok bool, err error) {
	return s.requeue(ctx, group, it, hideFor, 0)
}

// deadLetterAttempt is an attempt number past any group's maxDeliveryAttempts.
const deadLetterAttempt = 1 << 20

// RequeueDeadLetter makes one delivered message due at once with an attempt past the
// group's last, so the group's next receive moves it to the dead-letter topic (by
// reference, like every dead letter) instead of delivering it: the RocketMQ clients'
// ForwardMessageToDeadLetterQueue. ok is false when the receipt is stale.
func (s *Store) RequeueDeadLetter(ctx context.Context, group string, it AckItem) (ok bool, err error) {
	_, _, ok, err = s.requeue(ctx, group, it, func(int) time.Duration { return 0 }, deadLetterAttempt)
	return ok, err
}

// requeue is Requeue; a non-zero attempt replaces the message's attempt number.
func (s *Store) requeue(ctx context.Context, group string, it AckItem, hideFor func(attempt int) time.Duration, attempt int) (id int64, version int, ok bool, err error) {
	err = s.inTx(ctx, "requeue", func(tx pgx.Tx) error {
		var d Delivery
		rows, err := tx.Query(ctx, `SELECT id, queue_ref, first_offset, record_count, done, attempt, version, visible_at
			FROM deliveries WHERE id = $1 AND version = $2 AND group_name = $3 FOR UPDATE`, it.DeliveryID, it.Version, group)
		if err != nil {
			return fmt.Errorf("reading delivery: %w", err)
		}
		d, err = pgx.CollectExactlyOneRow(rows, scanDelivery)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading delivery: %w", err)
		}
		pos := int(it.Offset - d.FirstOffset)
		if pos < 0 || pos >= d.Count || d.IsDone(pos) {
			return nil
		}
		secs := hideFor(d.Attempt).Seconds()
		if attempt != 0 {
			d.Attempt = attempt
		}
		if d.Count-doneCount(&d) == 1 {
			// The message is the row's last: move the row itself.
			err := tx.QueryRow(ctx, `UPDATE deliveries SET visible_at = now() + make_interval(secs => $2), version = version + 1,
				attempt = $3 WHERE id = $1 RETURNING id, version`, d.ID, secs, d.Attempt).Scan(&id, &version)
			ok = err == nil
			return err
		}
		done := NewDoneBitmap(1)
		if err := tx.QueryRow(ctx, `INSERT INTO deliveries (group_name, queue_ref, first_offset, record_count, done, attempt, visible_at, delivered_at)
			VALUES ($1, $2, $3, 1, $4, $5, now() + make_interval(secs => $6), now()) RETURNING id, version`,
			group, d.QueueRef, it.Offset, done, d.Attempt, secs).Scan(&id, &version); err != nil {
			return fmt.Errorf("splitting delivery: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET done = set_bit(done, $2, 1) WHERE id = $1`, d.ID, pos); err != nil {
			return fmt.Errorf("splitting delivery: %w", err)
		}
		ok = true
		return nil
	})
	return id, version, ok, err
}

// doneCount counts the done messages of d, a byte at a time: an ack counts the rows it
// changed, up to 4,096 messages each. Bits past Count are not messages and do not count.
func doneCount(d *Delivery) int {
	full := min(d.Count/8, len(d.Done))
	n := 0
	for _, b := range d.Done[:full] {
		n += bits.OnesCount8(b)
	}
	if rest := d.Count % 8; rest > 0 && full < len(d.Done) {
		n += bits.OnesCount8(d.Done[full] & (1<<rest - 1))
	}
	return n
}

// Release undoes the delivery of claimed messages that no consumer was handed: each
// leaves its delivery row for a row of its own, visible at once, with the attempt it had
// before the claim (0: never delivered). A receipt whose row moved on (another version)
// or whose message is finished is skipped. It returns the messages released.
func (s *Store) Release(ctx context.Context, group string, items []AckItem) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(items))
	versions := make([]int32, len(items))
	offsets := make([]int64, len(items))
	for i, it := range items {
		ids[i], versions[i], offsets[i] = it.DeliveryID, int32(it.Version), it.Offset
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
	var n int
	err := s.inTx(ctx, "release", func(tx pgx.Tx) error {
		// Row locks in id order, as receive and ack take them.
		if _, err := tx.Exec(ctx, `SELECT id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE`, uniq); err != nil {
			return fmt.Errorf("locking deliveries: %w", err)
		}
		err := tx.QueryRow(ctx, `WITH it AS (SELECT DISTINCT * FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(id, version, off)),
				hit AS (SELECT d.id, d.queue_ref, d.attempt, it.off, (it.off - d.first_offset)::int AS pos FROM it
					JOIN deliveries d ON d.id = it.id AND d.version = it.version
					WHERE d.group_name = $4 AND it.off >= d.first_offset AND it.off < d.first_offset + d.record_count
					  AND get_bit(d.done, (it.off - d.first_offset)::int) = 0),
				ins AS (INSERT INTO deliveries (group_name, queue_ref, first_offset, record_count, done, attempt, visible_at, delivered_at)
					SELECT $4, queue_ref, off, 1, '\x00'::bytea, greatest(attempt - 1, 0), now(), now() FROM hit),
				upd AS (UPDATE deliveries d SET done = floe_set_bits(d.done, h.pos)
					FROM (SELECT id, array_agg(pos) AS pos FROM hit GROUP BY id) h WHERE d.id = h.id)
			SELECT count(*) FROM hit`, ids, versions, offsets, group).Scan(&n)
		if err != nil {
			return fmt.Errorf("releasing messages: %w", err)
		}
		// Rows whose every message is now done or released are finished.
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE id = ANY($1) AND bit_count(done) >= record_count`, uniq); err != nil {
			return fmt.Errorf("removing released deliveries: %w", err)
		}
		return nil
	})
	return n, err
}
