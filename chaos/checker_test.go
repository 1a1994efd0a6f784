package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
)

// A small history made by hand: a test of the checker itself. Each test breaks one thing
// and expects exactly that counter to move.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

type hist struct{ *History }

func newHist() hist {
	return hist{&History{
		Topics: []TopicRun{
			{Kind: KindNormal, Topic: "n", Group: "gn"},
			{Kind: KindFIFO, Topic: "f", Group: "gf", Orderly: true},
			{Kind: KindDelay, Topic: "d", Group: "gd"},
			{Kind: KindTx, Topic: "t", Group: "gt"},
		},
		Stored: map[string][]client.MessageView{},
		Queues: map[string][]client.QueueInfo{},
	}}
}

// sent records an acknowledged message stored at (queue, offset) of its topic.
func (h hist) sent(kind Kind, topic, uid string, queue int, offset int64) *SentMessage {
	m := &SentMessage{UID: uid, Kind: kind, Topic: topic, Body: makeBody(uid, 40), Status: Acked, Attempts: 1,
		QueueID: queue, Offset: offset, Seq: len(h.Sent)}
	h.Sent = append(h.Sent, m)
	return m
}

// store puts a message in the final read, growing its queue's max offset.
func (h hist) store(topic string, queue int, offset int64, body []byte, group string) {
	h.Stored[topic] = append(h.Stored[topic], client.MessageView{Topic: topic, QueueID: queue, Offset: offset, Body: body, MessageGroup: group})
	for i, q := range h.Queues[topic] {
		if q.QueueID == queue {
			h.Queues[topic][i].MaxOffset = max(q.MaxOffset, offset+1)
			return
		}
	}
	h.Queues[topic] = append(h.Queues[topic], client.QueueInfo{QueueID: queue, MaxOffset: offset + 1})
}

// deliver records a delivery received in [recv-10ms, recv] and acked OK at ack (ms).
func (h hist) deliver(group, topic string, queue int, offset int64, body []byte, recv, ack int) *Delivery {
	uid, _ := parseBody(body)
	d := &Delivery{Group: group, Topic: topic, QueueID: queue, Offset: offset, UID: uid, Body: body,
		RecvStart: at(recv - 10), RecvEnd: at(recv), Call: int64(len(h.Deliveries) + 1)}
	if ack >= 0 {
		d.Acks = []AckAttempt{{Start: at(ack), End: at(ack + 5), Status: "OK"}}
	}
	h.Deliveries = append(h.Deliveries, d)
	return d
}

// clean is a history in which everything went right: two normal messages, a FIFO group
// of two, a delayed message and a committed transaction, each stored and delivered.
func clean() hist {
	h := newHist()
	for i := range 2 {
		m := h.sent(KindNormal, "n", "r.normal.p0."+string(rune('0'+i)), 0, int64(i))
		h.store("n", 0, int64(i), m.Body, "")
		h.deliver("gn", "n", 0, int64(i), m.Body, 100, 110)
	}
	for i := range 2 {
		m := h.sent(KindFIFO, "f", "r.fifo.p0."+string(rune('0'+i)), 1, int64(i))
		m.MessageGroup = "g"
		h.store("f", 1, int64(i), m.Body, "g")
		h.deliver("gf", "f", 1, int64(i), m.Body, 100+100*i, 150+100*i)
	}
	d := h.sent(KindDelay, "d", "r.delay.p0.0", 0, 0)
	d.DeliveryTime = at(500)
	h.store("d", 2, 0, d.Body, "")
	h.deliver("gd", "d", 2, 0, d.Body, 600, 610)
	tx := h.sent(KindTx, "t", txUID("r", 0, 0, TxCommit, 0), 0, 0)
	h.Txs = append(h.Txs, &TxRecord{ID: "TX1", UIDs: []string{tx.UID}, Intent: TxCommit, CommitAttempts: []Attempt{{Start: at(200), End: at(210)}}})
	h.store("t", 3, 0, tx.Body, "")
	h.deliver("gt", "t", 3, 0, tx.Body, 300, 310)
	return h
}

func TestCheckerCleanHistoryPasses(t *testing.T) {
	r := Check(clean().History)
	require.Empty(t, r.Failures(), r.Markdown())
	require.Equal(t, 2, r.Kinds[KindNormal].Acked)
	require.Equal(t, 1, r.Kinds[KindTx].Acked)
	require.Zero(t, r.DeliveryDuplicates)
}

// The test the issue asks for: a history with a dropped ack (an acknowledged message
// the final read does not have) fails with one loss.
func TestCheckerCatchesDroppedAck(t *testing.T) {
	h := clean()
	m := h.sent(KindNormal, "n", "r.normal.p0.9", 0, 2) // acked at offset 2, never stored
	_ = m
	r := Check(h.History)
	require.Equal(t, 1, r.Lost, r.Markdown())
	require.Equal(t, 1, r.Kinds[KindNormal].Lost)
	require.Contains(t, r.Failures(), "acknowledged messages lost: 1")
}

func TestCheckerCatchesLostChunk(t *testing.T) {
	h := clean()
	// The stored queue lost offset 0 (its index row deleted): a loss and a gap.
	h.Stored["n"] = h.Stored["n"][1:]
	r := Check(h.History)
	require.Equal(t, 1, r.Lost, r.Markdown())
	require.Equal(t, 1, r.OffsetViolations, r.Markdown())
}

func TestCheckerMaybeIsNeverLost(t *testing.T) {
	h := clean()
	m := h.sent(KindNormal, "n", "r.normal.p0.9", 0, 0)
	m.Status, m.Attempts = Maybe, 8
	r := Check(h.History)
	require.Empty(t, r.Failures(), r.Markdown())
	require.Equal(t, 1, r.Kinds[KindNormal].Maybe)
	require.Equal(t, 7, r.StoredDuplicateBound)
}

func TestCheckerCatchesCorruptBody(t *testing.T) {
	h := clean()
	body := append([]byte(nil), h.Stored["n"][0].Body...)
	body[len(body)-1] ^= 1
	h.Stored["n"][0].Body = body
	r := Check(h.History)
	require.Equal(t, 1, r.Corrupted, r.Markdown())
}

func TestCheckerCatchesOffsetGapAndReorder(t *testing.T) {
	h := clean()
	h.Queues["n"][0].MaxOffset = 3 // offset 2 exists but cannot be read
	r := Check(h.History)
	require.Equal(t, 1, r.OffsetViolations, r.Markdown())

	h = clean()
	h.Sent[1].Offset = 0 // the second send of a producer acked at the first one's offset
	r = Check(h.History)
	require.Equal(t, 2, r.OffsetViolations, r.Markdown()) // not where acked, and not increasing
}

func TestCheckerCatchesFIFOViolation(t *testing.T) {
	h := clean()
	// Offset 1 of the message group delivered (at 200) before offset 0 was acked (at 250).
	h.Deliveries[2].Acks[0].Start = at(250)
	r := Check(h.History)
	require.Equal(t, 1, r.FIFOViolations, r.Markdown())

	h = clean()
	h.Deliveries[2].Acks = nil // offset 0 never acked at all, and offset 1 still delivered
	r = Check(h.History)
	require.Equal(t, 1, r.FIFOViolations, r.Markdown())
}

func TestCheckerCatchesEarlyDelay(t *testing.T) {
	h := clean()
	h.Deliveries[4].RecvEnd = at(499)
	r := Check(h.History)
	require.Equal(t, 1, r.EarlyDeliveries, r.Markdown())
}

func TestCheckerCatchesHalfMessages(t *testing.T) {
	h := clean()
	h.Deliveries[5].RecvEnd = at(190) // before the commit was asked for at 200
	r := Check(h.History)
	require.Equal(t, 1, r.HalfBeforeCommit, r.Markdown())

	h = clean()
	rb := h.sent(KindTx, "t", txUID("r", 0, 1, TxRollback, 0), 0, 0)
	h.Txs = append(h.Txs, &TxRecord{ID: "TX2", UIDs: []string{rb.UID}, Intent: TxRollback, RollbackAttempts: []Attempt{{Start: at(100), End: at(110)}}})
	h.store("t", 3, 1, rb.Body, "")
	r = Check(h.History)
	require.Equal(t, 1, r.HalfAfterRollback, r.Markdown())
	require.Zero(t, r.Undelivered, "a rolled-back message need not be delivered")
	require.Zero(t, r.Lost, "a rolled-back message is not owed")
}

func TestCheckerDuplicates(t *testing.T) {
	// A redelivery after a failed ack is a counted duplicate; after an OK ack, a violation.
	h := clean()
	h.Deliveries[0].Acks[0].Status = "EXPIRED"
	h.deliver("gn", "n", 0, 0, h.Stored["n"][0].Body, 4000, 4010)
	r := Check(h.History)
	require.Empty(t, r.Failures(), r.Markdown())
	require.Equal(t, 1, r.DeliveryDuplicates)

	h = clean()
	h.deliver("gn", "n", 0, 0, h.Stored["n"][0].Body, 4000, 4010)
	r = Check(h.History)
	require.Equal(t, 1, r.RedeliveredAfterAck, r.Markdown())

	// A stored copy per retry is allowed; one more is not.
	h = clean()
	m := h.Sent[0]
	m.Attempts = 2
	h.store("n", 0, 2, m.Body, "")
	h.deliver("gn", "n", 0, 2, m.Body, 100, 110)
	r = Check(h.History)
	require.Empty(t, r.Failures(), r.Markdown())
	require.Equal(t, 1, r.StoredDuplicates)
	m.Attempts = 1
	r = Check(h.History)
	require.Equal(t, 1, r.UnexplainedStoredDuplicates, r.Markdown())
}

func TestCheckerCatchesUndelivered(t *testing.T) {
	h := clean()
	h.Deliveries = h.Deliveries[1:]
	r := Check(h.History)
	require.Equal(t, 1, r.Undelivered, r.Markdown())
}

func TestBodyRoundTrip(t *testing.T) {
	b := makeBody("x.normal.p1.2", 100)
	uid, ok := parseBody(b)
	require.True(t, ok)
	require.Equal(t, "x.normal.p1.2", uid)
	b[len(b)-1] = 'Z'
	_, ok = parseBody(b)
	require.False(t, ok)
}

func TestScheduleIsSeeded(t *testing.T) {
	cfg := ScheduleConfig{Duration: 5 * time.Minute, Warmup: 5 * time.Second, QuietMin: 3 * time.Second, QuietMax: 8 * time.Second,
		FaultMin: 2 * time.Second, FaultMax: 8 * time.Second, Overlap: 0.2, Kinds: AllFaultKinds, Procs: []string{"a", "b", "c"}}
	a, b := Schedule(42, cfg), Schedule(42, cfg)
	require.Equal(t, a, b)
	require.NotEqual(t, a, Schedule(43, cfg))
	kinds := map[FaultKind]bool{}
	for i, f := range a {
		kinds[f.Kind] = true
		require.LessOrEqual(t, f.At+f.Duration, cfg.Duration)
		for _, g := range a[:i] {
			if g.At < f.At+f.Duration && f.At < g.At+g.Duration {
				require.NotEqual(t, g.part(), f.part(), "overlapping faults on one part: %s / %s", g, f)
			}
		}
	}
	require.Len(t, kinds, len(AllFaultKinds), "five minutes draw every kind:\n%s", FormatSchedule(a))
}
