package reader

import (
	"context"
	"sync"

	"github.com/floemq/floe/metadata"
)

// ackBatcher lets the acks of one group on this node share Postgres transactions, as a
// database's group commit does: while ackSlots ack transactions run, the acks that
// arrive queue up, and the next transaction settles all of them at once (each call still
// gets the status of each of its own handles). An ack waits for at most the transactions
// ahead of it; under load, one transaction settles the acks of many consumers.
type ackBatcher struct {
	mu      sync.Mutex
	users   int
	running int
	queue   []*ackCall
}

// ackSlots is how many ack transactions of a group a node runs at once. One: with two, an
// ack that arrives while a transaction runs could start at once instead of waiting, but
// each transaction then settles fewer acks (70 % more of them in the drain benchmark), and
// on a machine whose cores are busy the extra Postgres work costs what the wait saved.
const ackSlots = 1

// ackCall is one Ack call waiting in a batcher.
type ackCall struct {
	items  []metadata.AckItem
	notify bool
	// done gets the call's statuses, or lead: the call is to run the next transaction.
	done chan ackAnswer
}

type ackAnswer struct {
	statuses []string
	err      error
	// lead, when not empty, makes the call the leader of these calls (itself first): it
	// runs their transaction.
	lead []*ackCall
}

// ackShared is metadata.Store.Ack, sharing a transaction with the group's concurrent acks.
func (c *Consumer) ackShared(ctx context.Context, group string, items []metadata.AckItem, notify bool) ([]string, error) {
	b := c.acker(group)
	defer c.releaseAcker(group, b)
	me := &ackCall{items: items, notify: notify, done: make(chan ackAnswer, 1)}
	// A call leads at once when a slot is free (the queue is then empty: calls queue only
	// while every slot runs); otherwise it queues, and a transaction that ends hands the
	// whole queue to its first call.
	calls := []*ackCall{me}
	b.mu.Lock()
	lead := b.running < ackSlots
	if lead {
		b.running++
	} else {
		b.queue = append(b.queue, me)
	}
	b.mu.Unlock()
	if !lead {
		// The transactions ahead are short; a queued call is settled (or made a leader)
		// when one ends, so it waits for that even if its own caller is gone.
		a := <-me.done
		if len(a.lead) == 0 {
			return a.statuses, a.err
		}
		calls = a.lead
	}

	var all []metadata.AckItem
	anyNotify := false
	for _, cl := range calls {
		all = append(all, cl.items...)
		anyNotify = anyNotify || cl.notify
	}
	runCtx := ctx
	if len(calls) > 1 {
		// The transaction settles other calls too: it does not end with this caller.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), MaxWait)
		defer cancel()
	}
	statuses, err := c.store.Ack(runCtx, group, all, anyNotify)
	var mine ackAnswer
	for _, cl := range calls {
		a := ackAnswer{err: err}
		if err == nil {
			a.statuses, statuses = statuses[:len(cl.items):len(cl.items)], statuses[len(cl.items):]
		}
		if cl == me {
			mine = a
		} else {
			cl.done <- a
		}
	}
	// Hand this slot's next transaction to the calls that queued meanwhile.
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.running--
		b.mu.Unlock()
	} else {
		next := b.queue
		b.queue = nil
		b.mu.Unlock()
		next[0].done <- ackAnswer{lead: next}
	}
	return mine.statuses, mine.err
}

// acker returns the ack batcher of a group, held until releaseAcker.
func (c *Consumer) acker(group string) *ackBatcher {
	c.gatesMu.Lock()
	defer c.gatesMu.Unlock()
	b := c.ackers[group]
	if b == nil {
		b = &ackBatcher{}
		c.ackers[group] = b
	}
	b.users++
	return b
}

func (c *Consumer) releaseAcker(group string, b *ackBatcher) {
	c.gatesMu.Lock()
	defer c.gatesMu.Unlock()
	b.users--
	if b.users == 0 {
		delete(c.ackers, group)
	}
}
