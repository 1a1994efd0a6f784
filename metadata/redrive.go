package metadata

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Redrive task states.
const (
	RedriveRunning   = "RUNNING"
	RedriveSucceeded = "SUCCEEDED"
	RedriveCancelled = "CANCELLED"
	RedriveFailed    = "FAILED"
)

// RedriveTask moves a group's dead letters to a topic, a batch at a time.
type RedriveTask struct {
	ID          string
	Group       string
	TargetTopic string
	// Offsets are the chosen dead letters' offsets in the dead-letter queue; nil means every
	// offset in [Start, End).
	Offsets       []int64
	Start, Pos    int64
	End           int64
	Moved         int64
	Skipped       int64
	RatePerSecond int
	State         string
	Error         string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// Total is how many dead letters the task covers.
func (t RedriveTask) Total() int64 { return t.End - t.Start }

// RedriveCreateParams describes a new task.
type RedriveCreateParams struct {
	ID          string
	Group       string
	TargetTopic string
	// Offsets chooses dead letters by their offset in the dead-letter queue; nil takes every
	// dead letter stored when the task is created (later ones are left for another task).
	Offsets       []int64
	RatePerSecond int
}

const redriveColumns = `id, group_name, target_topic, offsets, start_pos, pos, end_pos, moved, skipped, rate_per_second,
	state, error, created_at, updated_at, finished_at`

func scanRedrive(r pgx.CollectableRow) (RedriveTask, error) {
	var t RedriveTask
	err := r.Scan(&t.ID, &t.Group, &t.TargetTopic, &t.Offsets, &t.Start, &t.Pos, &t.End, &t.Moved, &t.Skipped, &t.RatePerSecond,
		&t.State, &t.Error, &t.CreatedAt, &t.UpdatedAt, &t.FinishedAt)
	return t, err
}

// RedriveCreate stores a new task. A task with nothing to move is created finished
// (SUCCEEDED, 0 moved). ErrNotFound if the group or the topic is unknown.
func (s *Store) RedriveCreate(ctx context.Context, p RedriveCreateParams) (RedriveTask, error) {
	var out RedriveTask
	err := s.inTx(ctx, "redrive_create", func(tx pgx.Tx) error {
		if _, err := getGroup(ctx, tx, p.Group); err != nil {
			return err
		}
		if _, err := getTopic(ctx, tx, p.TargetTopic); err != nil {
			return err
		}
		var start, end int64
		if p.Offsets != nil {
			end = int64(len(p.Offsets))
		} else {
			err := tx.QueryRow(ctx, `SELECT min_offset, next_offset FROM queues WHERE topic = $1 AND queue_id = 0 AND lite_topic = ''`,
				DLQTopic(p.Group)).Scan(&start, &end)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("reading the dead-letter queue of %s: %w", p.Group, err)
			}
		}
		state := RedriveRunning
		if end == start {
			state = RedriveSucceeded
		}
		rows, err := tx.Query(ctx, `INSERT INTO redrive_tasks (id, group_name, target_topic, offsets, start_pos, pos, end_pos, rate_per_second, state, finished_at)
			VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, CASE WHEN $8 = 'RUNNING' THEN NULL ELSE now() END) RETURNING `+redriveColumns,
			p.ID, p.Group, p.TargetTopic, p.Offsets, start, end, p.RatePerSecond, state)
		if err != nil {
			return fmt.Errorf("inserting redrive task: %w", err)
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanRedrive)
		if err != nil {
			return fmt.Errorf("inserting redrive task: %w", err)
		}
		return nil
	})
	return out, err
}

// RedriveGet returns one task of a group, or ErrNotFound.
func (s *Store) RedriveGet(ctx context.Context, group, id string) (RedriveTask, error) {
	var out RedriveTask
	err := s.observe("redrive_get", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+redriveColumns+` FROM redrive_tasks WHERE group_name = $1 AND id = $2`, group, id)
		if err != nil {
			return fmt.Errorf("reading redrive task %s: %w", id, err)
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanRedrive)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("redrive task %s: %w", id, ErrNotFound)
		}
		return err
	})
	return out, err
}

// RedriveList returns a group's tasks, newest first, at most limit.
func (s *Store) RedriveList(ctx context.Context, group string, limit int) ([]RedriveTask, error) {
	var out []RedriveTask
	err := s.observe("redrive_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+redriveColumns+` FROM redrive_tasks WHERE group_name = $1
			ORDER BY created_at DESC, id LIMIT $2`, group, limit)
		if err != nil {
			return fmt.Errorf("listing redrive tasks of %s: %w", group, err)
		}
		out, err = pgx.CollectRows(rows, scanRedrive)
		return err
	})
	return out, err
}

// RedriveCancel stops a running task where its last batch left it. Cancelling a task that
// has ended changes nothing. ErrNotFound for an unknown task.
func (s *Store) RedriveCancel(ctx context.Context, group, id string) (RedriveTask, error) {
	var out RedriveTask
	err := s.inTx(ctx, "redrive_cancel", func(tx pgx.Tx) error {
		// FOR UPDATE waits for a batch being applied, so the answer's counts are final.
		rows, err := tx.Query(ctx, `UPDATE redrive_tasks SET state = 'CANCELLED', updated_at = now(), finished_at = now()
			WHERE group_name = $1 AND id = $2 AND state = 'RUNNING' RETURNING `+redriveColumns, group, id)
		if err != nil {
			return fmt.Errorf("cancelling redrive task %s: %w", id, err)
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanRedrive)
		if errors.Is(err, pgx.ErrNoRows) {
			rows, err = tx.Query(ctx, `SELECT `+redriveColumns+` FROM redrive_tasks WHERE group_name = $1 AND id = $2`, group, id)
			if err != nil {
				return fmt.Errorf("reading redrive task %s: %w", id, err)
			}
			out, err = pgx.CollectExactlyOneRow(rows, scanRedrive)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("redrive task %s: %w", id, ErrNotFound)
			}
		}
		return err
	})
	return out, err
}

// Redriven is one message a redrive batch appended to its target topic.
type Redriven struct {
	// DLQOffset is the message's offset in the dead-letter queue.
	DLQOffset int64
	QueueID   int
	// LiteTopic is the lite topic whose queue took the message, in a LITE target.
	LiteTopic string
	Offset    int64
}

// RedriveRoute is what decides a dead letter's queue in a FIFO or LITE target topic, as it
// decided the queue of the original send: its message group, its lite topic.
type RedriveRoute struct {
	MessageGroup string
	LiteTopic    string
}

// RedriveRouter reads the routes of a group's dead letters, by dead-letter offset. A
// dead letter missing from the answer is skipped.
type RedriveRouter func(ctx context.Context, group string, dlqOffsets []int64) (map[int64]RedriveRoute, error)

// QueueForKey is the queue (0 to n-1) of a message routed by a key: its message group
// in a FIFO topic, else its first key. Sends and redrives route the same way, so a
// message group's messages share a queue whichever way they came.
func QueueForKey(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// RedriveBatch is what one step of a task did.
type RedriveBatch struct {
	Task  RedriveTask
	Moved []Redriven
}

// RedriveStep applies the next batch (at most max messages) of one running task that is
// due, in ONE transaction: it appends an index row to the target topic for each dead
// letter, pointing at the bytes already stored (no copy), advances the task, and for a
// whole-queue task moves the dead-letter queue's start past the moved messages. Running
// tasks are shared among nodes with SKIP LOCKED, and the batch's size sets the task's next
// run so the rate holds whichever node runs it. ok is false when no task is due.
//
// Into a FIFO topic a dead letter goes to the queue of its message group, into a LITE topic
// to the queue of its lite topic (created if it expired meanwhile); route reads those, and
// a step into such a topic fails without it.
func (s *Store) RedriveStep(ctx context.Context, max int, route RedriveRouter) (b RedriveBatch, ok bool, err error) {
	err = s.inTx(ctx, "redrive_step", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+redriveColumns+` FROM redrive_tasks WHERE state = 'RUNNING' AND next_run_at <= now()
			ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return fmt.Errorf("claiming a redrive task: %w", err)
		}
		t, err := pgx.CollectExactlyOneRow(rows, scanRedrive)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claiming a redrive task: %w", err)
		}
		ok = true
		n := min(int64(max), int64(t.RatePerSecond), t.End-t.Pos)
		var offsets []int64
		if t.Offsets != nil {
			offsets = slices.Clone(t.Offsets[t.Pos : t.Pos+n])
		} else {
			for o := t.Pos; o < t.Pos+n; o++ {
				offsets = append(offsets, o)
			}
		}
		moved, err := s.redriveAppend(ctx, tx, t, offsets, route)
		if err != nil {
			return err
		}
		t.Pos += n
		t.Moved += int64(len(moved))
		t.Skipped += n - int64(len(moved))
		if t.Offsets == nil && n > 0 {
			// The moved messages leave the dead-letter queue, as retention removes messages:
			// its start moves up (their index rows stay until the compactor's retention pass).
			if _, err := tx.Exec(ctx, `UPDATE queues SET min_offset = greatest(min_offset, $2)
				WHERE topic = $1 AND queue_id = 0 AND lite_topic = ''`, DLQTopic(t.Group), t.Pos); err != nil {
				return fmt.Errorf("moving the start of the dead-letter queue of %s: %w", t.Group, err)
			}
		}
		wait := time.Duration(float64(n) / float64(t.RatePerSecond) * float64(time.Second))
		rows, err = tx.Query(ctx, `UPDATE redrive_tasks SET pos = $2, moved = $3, skipped = $4, updated_at = now(),
				next_run_at = now() + $5 * interval '1 microsecond',
				state = CASE WHEN $2 >= end_pos THEN 'SUCCEEDED' ELSE state END,
				finished_at = CASE WHEN $2 >= end_pos THEN now() END
			WHERE id = $1 RETURNING `+redriveColumns, t.ID, t.Pos, t.Moved, t.Skipped, wait.Microseconds())
		if err != nil {
			return fmt.Errorf("advancing redrive task %s: %w", t.ID, err)
		}
		b.Task, err = pgx.CollectExactlyOneRow(rows, scanRedrive)
		if err != nil {
			return fmt.Errorf("advancing redrive task %s: %w", t.ID, err)
		}
		b.Moved = moved
		return nil
	})
	return b, ok, err
}

// redriveAppend indexes the dead letters at the given offsets into the task's target topic:
// a NORMAL (or DELAY, TRANSACTION) topic's queues take them in turn by dead-letter offset, a
// FIFO topic's the queue of each one's message group, a LITE topic's the queue of each one's
// lite topic. Offsets no longer in the dead-letter queue (retention, or another task that
// moved them) are skipped, and so are dead letters route gives no route.
func (s *Store) redriveAppend(ctx context.Context, tx pgx.Tx, t RedriveTask, offsets []int64, route RedriveRouter) ([]Redriven, error) {
	if len(offsets) == 0 {
		return nil, nil
	}
	type source struct {
		offset              int64
		index               int
		segmentID           int64
		byteOffset, byteLen int64
		minStore, maxStore  time.Time
		bloom               []byte
	}
	rows, err := tx.Query(ctx, `SELECT o, c.record_skip + (o - c.first_offset)::int, c.segment_id, c.byte_offset, c.byte_length,
			c.min_store_time, c.max_store_time, c.bloom
		FROM unnest($2::bigint[]) o
		JOIN queues dq ON dq.topic = $1 AND dq.queue_id = 0 AND dq.lite_topic = ''
		JOIN LATERAL (SELECT * FROM chunks c WHERE c.queue_ref = dq.id AND c.first_offset <= o
			ORDER BY c.first_offset DESC LIMIT 1) c ON o < c.first_offset + c.record_count
		WHERE o >= dq.min_offset
		ORDER BY o`, DLQTopic(t.Group), offsets)
	if err != nil {
		return nil, fmt.Errorf("reading dead letters of %s: %w", t.Group, err)
	}
	srcs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (source, error) {
		var s source
		err := r.Scan(&s.offset, &s.index, &s.segmentID, &s.byteOffset, &s.byteLen, &s.minStore, &s.maxStore, &s.bloom)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters of %s: %w", t.Group, err)
	}
	if len(srcs) == 0 {
		return nil, nil
	}
	target, err := getTopic(ctx, tx, t.TargetTopic)
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", t.TargetTopic, err)
	}
	var routes map[int64]RedriveRoute
	if target.Type == TopicFIFO || target.Type == TopicLite {
		if route == nil {
			return nil, fmt.Errorf("redrive into %s topic %s needs the dead letters' routes: this node cannot read messages", target.Type, t.TargetTopic)
		}
		at := make([]int64, len(srcs))
		for i, s := range srcs {
			at[i] = s.offset
		}
		if routes, err = route(ctx, t.Group, at); err != nil {
			return nil, fmt.Errorf("reading the routes of dead letters of %s: %w", t.Group, err)
		}
	}

	// The target queues: ref, queue id and lite topic of each.
	type queueRef struct {
		ref  int64
		id   int
		lite string
	}
	var byIndex []queueRef
	if target.Type == TopicLite {
		var lites []string
		for _, s := range srcs {
			if l := routes[s.offset].LiteTopic; l != "" && !slices.Contains(lites, l) {
				lites = append(lites, l)
			}
		}
		if len(lites) > 0 {
			qs, err := s.ensureLiteQueues(ctx, tx, t.TargetTopic, lites)
			if err != nil {
				return nil, err
			}
			for _, l := range lites {
				byIndex = append(byIndex, queueRef{ref: qs[l].Ref, lite: l})
			}
		}
	} else {
		queues, err := tx.Query(ctx, `SELECT id, queue_id FROM queues WHERE topic = $1 AND lite_topic = '' ORDER BY queue_id`, t.TargetTopic)
		if err != nil {
			return nil, fmt.Errorf("listing queues of %s: %w", t.TargetTopic, err)
		}
		byIndex, err = pgx.CollectRows(queues, func(r pgx.CollectableRow) (queueRef, error) {
			var q queueRef
			return q, r.Scan(&q.ref, &q.id)
		})
		if err != nil {
			return nil, fmt.Errorf("listing queues of %s: %w", t.TargetTopic, err)
		}
		if len(byIndex) == 0 {
			return nil, fmt.Errorf("topic %s has no queues", t.TargetTopic)
		}
	}
	perQueue := make([][]source, len(byIndex))
	for _, s := range srcs {
		q := -1
		switch r, ok := routes[s.offset]; {
		case target.Type == TopicLite:
			q = slices.IndexFunc(byIndex, func(x queueRef) bool { return ok && x.lite == r.LiteTopic && r.LiteTopic != "" })
		case target.Type == TopicFIFO && ok && r.MessageGroup != "":
			q = QueueForKey(r.MessageGroup, len(byIndex))
		case target.Type == TopicFIFO && !ok:
			// Not read: left out, counted as skipped.
		default:
			q = int(s.offset % int64(len(byIndex)))
		}
		if q >= 0 {
			perQueue[q] = append(perQueue[q], s)
		}
	}
	// Queue rows are locked in id order, as flush commits lock them, so the two cannot
	// deadlock.
	order := make([]int, len(byIndex))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(byIndex[a].ref, byIndex[b].ref) })
	var out []Redriven
	batch := &pgx.Batch{}
	var touched []int64
	for _, qi := range order {
		list, q := perQueue[qi], byIndex[qi]
		if len(list) == 0 {
			continue
		}
		var first int64
		if err := tx.QueryRow(ctx, `UPDATE queues SET next_offset = next_offset + $2, last_write_at = now()
			WHERE id = $1 RETURNING next_offset - $2`, q.ref, len(list)).Scan(&first); err != nil {
			return nil, fmt.Errorf("advancing queue %d%s of %s: %w", q.id, q.lite, t.TargetTopic, err)
		}
		touched = append(touched, q.ref)
		for i, s := range list {
			batch.Queue(`INSERT INTO chunks (queue_ref, first_offset, record_count, record_skip, segment_id, byte_offset, byte_length,
					min_store_time, max_store_time, bloom) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9)`,
				q.ref, first+int64(i), s.index, s.segmentID, s.byteOffset, s.byteLen, s.minStore, s.maxStore, s.bloom)
			out = append(out, Redriven{DLQOffset: s.offset, QueueID: q.id, LiteTopic: q.lite, Offset: first + int64(i)})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	batch.Queue(`SELECT pg_notify($1, $2)`, ChannelCommits, commitPayload([]string{t.TargetTopic}))
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("indexing redriven messages into %s: %w", t.TargetTopic, err)
	}
	if err := markReady(ctx, tx, touched); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Redriven) int { return int(a.DLQOffset - b.DLQOffset) })
	return out, nil
}
