package chaos

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/floemq/floe/client"
)

// Kind is the type of message a workload sends; each kind has its own topic and group.
type Kind string

// The kinds of message the workload sends: every message type Floe has that a chaos run
// checks (lite topics are left out: they are normal queues created on demand).
const (
	KindNormal Kind = "normal"
	KindFIFO   Kind = "fifo"
	KindDelay  Kind = "delay"
	KindTx     Kind = "tx"
)

// Kinds lists the kinds in report order.
var Kinds = []Kind{KindNormal, KindFIFO, KindDelay, KindTx}

// SendStatus is what a producer knows about one message it sent.
type SendStatus string

// The send statuses.
const (
	// Acked: the server acknowledged the message; it must exist.
	Acked SendStatus = "acked"
	// Maybe: every attempt failed, but a failed attempt may still have stored it.
	Maybe SendStatus = "maybe"
	// Rejected: the server refused it with a 4xx other than 429; nothing may be stored.
	Rejected SendStatus = "rejected"
)

// TxIntent is what the workload decides for a transaction, encoded in its messages' ids
// so that the transaction checker answers a check the same way the producer would.
type TxIntent string

// The transaction intents.
const (
	TxCommit   TxIntent = "commit"
	TxRollback TxIntent = "rollback"
)

// SentMessage is one uniquely identified message a producer sent.
type SentMessage struct {
	// UID identifies the message across the run; the body carries it.
	UID  string
	Kind Kind
	// Topic is the topic it was sent to; Group is the consumer group that reads it.
	Topic string
	Body  []byte
	// MessageGroup is set on FIFO messages.
	MessageGroup string
	// DeliveryTime is set on delayed messages.
	DeliveryTime time.Time
	// Producer and Seq order one producer's sends: a higher Seq was sent after a lower one
	// was acknowledged (or given up on).
	Producer int
	Seq      int
	Status   SendStatus
	// Attempts counts the requests that carried this message; each one beyond the first
	// may have stored a copy.
	Attempts int
	// QueueID, Offset and MessageID come from the ack (queue and offset only for normal
	// and FIFO messages: a delayed one gets its offset when it fires).
	QueueID   int
	Offset    int64
	MessageID string
	// Intent is set on transactional messages.
	Intent TxIntent
}

// Attempt is one request of a multi-request operation.
type Attempt struct {
	Start, End time.Time
	// Err is empty when the request succeeded.
	Err string
}

// OK reports whether the attempt succeeded.
func (a Attempt) OK() bool { return a.Err == "" }

// TxRecord is one transaction the server knows by id: sent by a producer, or offered by a
// transaction check (a SendTransaction whose answer was lost).
type TxRecord struct {
	ID     string
	UIDs   []string
	Intent TxIntent
	// ByChecker is set when the record came from a transaction check, not a send.
	ByChecker bool
	// CommitAttempts and RollbackAttempts are the resolve requests made for it.
	CommitAttempts   []Attempt
	RollbackAttempts []Attempt
}

// Committed reports whether a commit request succeeded: the messages must then exist.
func (t *TxRecord) Committed() bool {
	for _, a := range t.CommitAttempts {
		if a.OK() {
			return true
		}
	}
	return false
}

// AckAttempt is one ack request for a delivery and its outcome: OK, EXPIRED, INVALID, or
// ERROR when no answer came (the ack may or may not have been applied).
type AckAttempt struct {
	Start, End time.Time
	Status     string
}

// mayHaveAcked reports whether the server may have applied this ack.
func (a AckAttempt) mayHaveAcked() bool { return a.Status == "OK" || a.Status == "ERROR" }

// Delivery is one message handed to a consumer by a receive call.
type Delivery struct {
	Group, Topic string
	QueueID      int
	Offset       int64
	MessageID    string
	// UID is parsed from the body ("" if the body is not one of ours).
	UID          string
	Body         []byte
	MessageGroup string
	Attempt      int
	// RecvStart and RecvEnd bracket the receive call that returned it; Call numbers
	// that call within the run.
	RecvStart, RecvEnd time.Time
	Call               int64
	// Dropped is set when the consumer left it unacked on purpose (to exercise redelivery).
	Dropped bool
	Acks    []AckAttempt
}

// Op is one produce or receive request, for availability.
type Op struct {
	Kind       string // "produce" or "receive"
	Start, End time.Time
	OK         bool
}

// FaultEvent is one fault as it was applied.
type FaultEvent struct {
	Fault
	// Start is when the fault was applied, End when it was healed.
	Start, End time.Time
	// Err says why applying or healing failed, if it did.
	Err string
}

// Injection is a loss the harness caused on purpose (Config.InjectLoss), which the
// checker must report.
type Injection struct {
	Mode   string
	Topic  string
	Queue  int
	Offset int64
	UID    string
	At     time.Time
}

// TopicRun names one kind's topic and consumer group in a run.
type TopicRun struct {
	Kind  Kind
	Topic string
	Group string
	// Orderly is set for an ORDERLY group (FIFO order is checked for it).
	Orderly bool
}

// History is everything a run observed: what was sent and acknowledged, what consumers
// got and acked, which faults happened when, and what every queue holds at the end. The
// checker judges a History alone, so a test can feed it one made by hand.
type History struct {
	mu         sync.Mutex
	Topics     []TopicRun
	Sent       []*SentMessage
	Txs        []*TxRecord
	Deliveries []*Delivery
	Ops        []Op
	Faults     []FaultEvent
	Injections []Injection
	// Stored is every message read by offset at the end, per topic, queue by queue.
	Stored map[string][]client.MessageView
	// Queues is each topic's queues (offset ranges) as read at the end.
	Queues map[string][]client.QueueInfo
	// ReadErrors are queue ranges the final read could not get.
	ReadErrors []string
	// End is when the run's final read finished.
	End time.Time
	// MergedSegments counts the segment objects the compactor wrote by merging, at the
	// end (-1: unknown): whether the run exercised compaction at all.
	MergedSegments int
	// txByID indexes Txs while recording.
	txByID map[string]*TxRecord
	calls  int64
}

func (h *History) addSent(ms []*SentMessage) {
	h.mu.Lock()
	h.Sent = append(h.Sent, ms...)
	h.mu.Unlock()
}

func (h *History) addOp(kind string, start, end time.Time, ok bool) {
	h.mu.Lock()
	h.Ops = append(h.Ops, Op{Kind: kind, Start: start, End: end, OK: ok})
	h.mu.Unlock()
}

func (h *History) addDeliveries(ds []*Delivery) {
	h.mu.Lock()
	h.calls++
	for _, d := range ds {
		d.Call = h.calls
	}
	h.Deliveries = append(h.Deliveries, ds...)
	h.mu.Unlock()
}

// withLock runs f under the history's lock (for updates of recorded structs).
func (h *History) withLock(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

// tx returns the record of transaction id, creating it if needed.
func (h *History) tx(id string, uids []string, intent TxIntent, byChecker bool) *TxRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.txByID == nil {
		h.txByID = map[string]*TxRecord{}
	}
	if t := h.txByID[id]; t != nil {
		return t
	}
	t := &TxRecord{ID: id, UIDs: uids, Intent: intent, ByChecker: byChecker}
	h.txByID[id] = t
	h.Txs = append(h.Txs, t)
	return t
}

// The body of every message is "uid|check|padding": check is a hash of uid and padding,
// so a body altered anywhere is detected even when its uid is unknown.
const bodySep = "|"

// makeBody returns the body of the message uid, padded to about size bytes.
func makeBody(uid string, size int) []byte {
	pad := strings.Repeat(string(rune('a'+len(uid)%26)), max(0, size-len(uid)-20))
	return []byte(uid + bodySep + bodyCheck(uid, pad) + bodySep + pad)
}

func bodyCheck(uid, pad string) string {
	sum := sha256.Sum256([]byte(uid + bodySep + pad))
	return hex.EncodeToString(sum[:8])
}

// parseBody returns the uid a body carries and whether the body is intact.
func parseBody(body []byte) (uid string, ok bool) {
	parts := strings.SplitN(string(body), bodySep, 3)
	if len(parts) != 3 {
		return "", false
	}
	return parts[0], bodyCheck(parts[0], parts[2]) == parts[1]
}

// txIntentOf reads the intent a transactional message's uid carries ("….commit.m0").
func txIntentOf(uid string) (TxIntent, bool) {
	switch {
	case strings.Contains(uid, "."+string(TxCommit)+"."):
		return TxCommit, true
	case strings.Contains(uid, "."+string(TxRollback)+"."):
		return TxRollback, true
	}
	return "", false
}

func txUID(run string, producer, n int, intent TxIntent, i int) string {
	return fmt.Sprintf("%s.tx.p%d.t%d.%s.m%d", run, producer, n, intent, i)
}
