package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/client"
)

// Request timeouts: a paused process never answers, so every request has one, and the
// client moves on to the other process of the role.
const (
	sendTimeout    = 6 * time.Second
	receiveTimeout = 8 * time.Second
	ackTimeout     = 5 * time.Second
	maxSendTries   = 8
	maxAckTries    = 4
	invisibleSecs  = 3
	receiveWait    = 1
	receiveBatch   = 16
)

// workload runs producers of every kind and a consumer group per kind over HTTP, and
// records everything in a History.
type workload struct {
	h       *History
	run     string
	topics  map[Kind]TopicRun
	ingest  []*client.Client
	readers []*client.Client
	seed    uint64
	// delayMin and delayMax bound how far ahead delayed messages are scheduled.
	delayMin, delayMax time.Duration
	// dropRate is the share of deliveries consumers leave unacked on purpose.
	dropRate float64

	stopProduce chan struct{}
	stopConsume chan struct{}
	draining    atomic.Bool
	producers   sync.WaitGroup
	consumers   sync.WaitGroup

	lastDelivery atomic.Int64 // unix nanoseconds of the latest delivery
	maxDue       atomic.Int64 // unix nanoseconds of the latest delivery time sent
}

func (w *workload) rng(role string, i int) *rand.Rand {
	h := uint64(14695981039346656037)
	for _, b := range []byte(fmt.Sprint(role, i)) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(w.seed, h))
}

func (w *workload) stopped(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pause sleeps d unless producing stops first.
func (w *workload) pause(d time.Duration) {
	select {
	case <-w.stopProduce:
	case <-time.After(d):
	}
}

// start launches producers (2 normal, 2 FIFO, 1 delay, 1 transactional), consumers (2 per
// group but one each for delay and transactions) and a transaction checker.
func (w *workload) start() {
	for i := range 2 {
		w.producers.Go(func() { w.produceNormal(i) })
		w.producers.Go(func() { w.produceFIFO(i) })
	}
	w.producers.Go(func() { w.produceDelay(0) })
	w.producers.Go(func() { w.produceTx(0) })
	for i, k := range []Kind{KindNormal, KindNormal, KindFIFO, KindFIFO, KindDelay, KindTx} {
		w.consumers.Go(func() { w.consume(k, i) })
	}
	w.consumers.Go(w.checkTransactions)
}

// send sends msgs (the wire form of ms) until one attempt is acknowledged, a 4xx other
// than 429 rejects them, or maxSendTries attempts failed; each attempt goes to the next
// ingest process.
func (w *workload) send(producer int, topic string, ms []*SentMessage, msgs []client.Message) {
	defer w.h.addSent(ms)
	for attempt := range maxSendTries {
		c := w.ingest[(producer+attempt)%len(w.ingest)]
		for _, m := range ms {
			m.Attempts++
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		res, err := c.Send(ctx, topic, msgs)
		cancel()
		w.h.addOp("produce", start, time.Now(), err == nil)
		if err == nil && len(res) == len(ms) {
			for i, m := range ms {
				m.Status, m.MessageID = Acked, res[i].MessageID
				if m.Kind != KindDelay {
					m.QueueID, m.Offset = res[i].QueueID, res[i].Offset
				}
			}
			return
		}
		if rejected(err) {
			for _, m := range ms {
				m.Status = Rejected
			}
			return
		}
		time.Sleep(min(2*time.Second, 100*time.Millisecond<<attempt))
	}
	for _, m := range ms {
		m.Status = Maybe
	}
}

// rejected reports whether err is a 4xx answer other than 429: the server stored nothing
// and a retry would get the same answer.
func rejected(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests
}

func (w *workload) produceNormal(p int) {
	rng := w.rng("normal", p)
	tr := w.topics[KindNormal]
	for seq := 0; !w.stopped(w.stopProduce); {
		var ms []*SentMessage
		var msgs []client.Message
		for range 1 + rng.IntN(5) {
			uid := fmt.Sprintf("%s.normal.p%d.%d", w.run, p, seq)
			m := &SentMessage{UID: uid, Kind: KindNormal, Topic: tr.Topic, Body: makeBody(uid, 64+rng.IntN(400)), Producer: p, Seq: seq}
			seq++
			ms = append(ms, m)
			msgs = append(msgs, client.Message{Body: m.Body, Tag: "chaos"})
		}
		w.send(p, tr.Topic, ms, msgs)
		w.pause(time.Duration(20+rng.IntN(60)) * time.Millisecond)
	}
}

// produceFIFO sends to four message groups of its own, one request at a time, so each
// group's messages are sent in order, each after the previous one's answer.
func (w *workload) produceFIFO(p int) {
	rng := w.rng("fifo", p)
	tr := w.topics[KindFIFO]
	for seq := 0; !w.stopped(w.stopProduce); {
		group := fmt.Sprintf("p%d-g%d", p, rng.IntN(4))
		var ms []*SentMessage
		var msgs []client.Message
		for range 1 + rng.IntN(3) {
			uid := fmt.Sprintf("%s.fifo.p%d.%d", w.run, p, seq)
			m := &SentMessage{UID: uid, Kind: KindFIFO, Topic: tr.Topic, Body: makeBody(uid, 64+rng.IntN(200)), MessageGroup: group, Producer: p, Seq: seq}
			seq++
			ms = append(ms, m)
			msgs = append(msgs, client.Message{Body: m.Body, MessageGroup: group})
		}
		w.send(10+p, tr.Topic, ms, msgs)
		w.pause(time.Duration(20+rng.IntN(60)) * time.Millisecond)
	}
}

func (w *workload) produceDelay(p int) {
	rng := w.rng("delay", p)
	tr := w.topics[KindDelay]
	for seq := 0; !w.stopped(w.stopProduce); {
		var ms []*SentMessage
		var msgs []client.Message
		for range 1 + rng.IntN(3) {
			uid := fmt.Sprintf("%s.delay.p%d.%d", w.run, p, seq)
			at := time.Now().Add(w.delayMin + time.Duration(rng.Int64N(int64(w.delayMax-w.delayMin)+1))).Round(time.Millisecond)
			m := &SentMessage{UID: uid, Kind: KindDelay, Topic: tr.Topic, Body: makeBody(uid, 64+rng.IntN(200)), DeliveryTime: at, Producer: p, Seq: seq}
			seq++
			ms = append(ms, m)
			msgs = append(msgs, client.Message{Body: m.Body, DeliveryTime: &at})
			for {
				cur := w.maxDue.Load()
				if at.UnixNano() <= cur || w.maxDue.CompareAndSwap(cur, at.UnixNano()) {
					break
				}
			}
		}
		w.send(20+p, tr.Topic, ms, msgs)
		w.pause(time.Duration(50+rng.IntN(100)) * time.Millisecond)
	}
}

func (w *workload) producerGroup() string { return w.run + "-pg" }

// produceTx sends transactions of 1–3 messages; three in four are to be committed. Most
// are resolved by the producer shortly after the send; some are left to the transaction
// checker, which the server asks after a few seconds.
func (w *workload) produceTx(p int) {
	rng := w.rng("tx", p)
	tr := w.topics[KindTx]
	for n := 0; !w.stopped(w.stopProduce); n++ {
		intent := TxCommit
		if rng.IntN(4) == 0 {
			intent = TxRollback
		}
		byProducer := rng.IntN(7) != 0
		var ms []*SentMessage
		var msgs []client.Message
		var uids []string
		for i := range 1 + rng.IntN(3) {
			uid := txUID(w.run, p, n, intent, i)
			m := &SentMessage{UID: uid, Kind: KindTx, Topic: tr.Topic, Body: makeBody(uid, 64+rng.IntN(200)), Producer: p, Seq: n, Intent: intent}
			ms, uids = append(ms, m), append(uids, uid)
			msgs = append(msgs, client.Message{Body: m.Body})
		}
		var txID string
		for attempt := range maxSendTries {
			c := w.ingest[(p+attempt)%len(w.ingest)]
			for _, m := range ms {
				m.Attempts++
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
			res, err := c.SendTransaction(ctx, tr.Topic, w.producerGroup(), msgs)
			cancel()
			w.h.addOp("produce", start, time.Now(), err == nil)
			if err == nil {
				txID = res.TransactionID
				break
			}
			if rejected(err) {
				break
			}
			time.Sleep(min(2*time.Second, 100*time.Millisecond<<attempt))
		}
		for _, m := range ms {
			m.Status = Maybe
			if txID != "" {
				m.Status = Acked // the half is stored; it must exist once a commit is acked
			}
		}
		w.h.addSent(ms)
		if txID != "" {
			rec := w.h.tx(txID, uids, intent, false)
			if byProducer {
				w.pause(time.Duration(rng.IntN(300)) * time.Millisecond)
				w.resolve(rec, p)
			}
		}
		w.pause(time.Duration(50+rng.IntN(100)) * time.Millisecond)
	}
}

// resolve commits or rolls back a transaction as its intent says, retrying on other ingest
// processes until an answer other than a failure comes.
func (w *workload) resolve(rec *TxRecord, p int) {
	for attempt := range maxSendTries {
		c := w.ingest[(p+attempt)%len(w.ingest)]
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		var err error
		if rec.Intent == TxCommit {
			err = c.Commit(ctx, rec.ID)
		} else {
			err = c.Rollback(ctx, rec.ID)
		}
		cancel()
		a := Attempt{Start: start, End: time.Now()}
		if err != nil {
			a.Err = err.Error()
		}
		w.h.withLock(func() {
			if rec.Intent == TxCommit {
				rec.CommitAttempts = append(rec.CommitAttempts, a)
			} else {
				rec.RollbackAttempts = append(rec.RollbackAttempts, a)
			}
		})
		if err == nil || rejected(err) {
			return
		}
		time.Sleep(min(2*time.Second, 100*time.Millisecond<<attempt))
	}
}

// checkTransactions answers the server's transaction checks with each transaction's
// intent, read from its messages' ids.
func (w *workload) checkTransactions() {
	for i := 0; !w.stopped(w.stopConsume); i++ {
		c := w.ingest[i%len(w.ingest)]
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
		checks, err := c.TransactionChecks(ctx, w.producerGroup(), 2*time.Second)
		cancel()
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, ch := range checks {
			var uids []string
			intents := map[TxIntent]bool{}
			for _, m := range ch.Messages {
				uid, ok := parseBody(m.Body)
				uids = append(uids, uid)
				in, known := txIntentOf(uid)
				intents[in] = ok && known
			}
			// Commit only a transaction that is all ours and all meant to be committed.
			intent := TxRollback
			if len(intents) == 1 && intents[TxCommit] {
				intent = TxCommit
			}
			w.resolve(w.h.tx(ch.TransactionID, uids, intent, true), i)
		}
	}
}

// consume receives from the kind's group until consuming stops, acking every delivery but
// a few dropped on purpose (outside the drain) to exercise redelivery.
func (w *workload) consume(kind Kind, idx int) {
	rng := w.rng("consume-"+string(kind), idx)
	tr := w.topics[kind]
	next := rng.IntN(len(w.readers))
	for !w.stopped(w.stopConsume) {
		c := w.readers[next%len(w.readers)]
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
		msgs, err := c.Receive(ctx, tr.Group, tr.Topic, client.ReceiveRequest{MaxMessages: receiveBatch, InvisibleSeconds: invisibleSecs, WaitSeconds: receiveWait})
		cancel()
		end := time.Now()
		w.h.addOp("receive", start, end, err == nil)
		if err != nil {
			next++ // the other reader
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		w.lastDelivery.Store(end.UnixNano())
		ds := make([]*Delivery, len(msgs))
		handles := map[string]*Delivery{}
		for i, m := range msgs {
			uid, _ := parseBody(m.Body)
			d := &Delivery{Group: tr.Group, Topic: m.Topic, QueueID: m.QueueID, Offset: m.Offset, MessageID: m.MessageID,
				UID: uid, Body: m.Body, MessageGroup: m.MessageGroup, Attempt: m.DeliveryAttempt, RecvStart: start, RecvEnd: end}
			if !w.draining.Load() && rng.Float64() < w.dropRate {
				d.Dropped = true
			} else {
				handles[m.ReceiptHandle] = d
			}
			ds[i] = d
		}
		w.h.addDeliveries(ds)
		w.ack(tr, handles, next)
	}
}

// ack acks the handles, retrying those without an answer on the other reader.
func (w *workload) ack(tr TopicRun, handles map[string]*Delivery, next int) {
	for attempt := 0; attempt < maxAckTries && len(handles) > 0; attempt++ {
		c := w.readers[(next+attempt)%len(w.readers)]
		var hs []string
		for h := range handles {
			hs = append(hs, h)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
		res, err := c.Ack(ctx, tr.Group, tr.Topic, hs)
		cancel()
		end := time.Now()
		status := map[string]string{}
		for _, r := range res {
			status[r.ReceiptHandle] = string(r.Status)
		}
		w.h.withLock(func() {
			for _, h := range hs {
				st := status[h]
				if err != nil || st == "" {
					st = "ERROR"
				}
				d := handles[h]
				d.Acks = append(d.Acks, AckAttempt{Start: start, End: end, Status: st})
				if st != "ERROR" {
					delete(handles, h)
				}
			}
		})
		if len(handles) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}
