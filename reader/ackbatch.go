package reader

import (
	"context"
	"sync"

	"github.com/floemq/floe/metadata"
)

// ackBatcher lets the acks of one group on this node share Postgres transactions, as a
// database's group commit does: while one ack transaction runs, the acks that arrive
// queue up, and the next transaction settles all of them at once (each call still gets
// the status of each of its own handles). An ack waits for at most the transaction ahead
// of it; under load, one transaction settles the acks of many consumers.
type ackBatcher struct {
	mu      sync.Mutex
	users   int
	running bool
	queue   []*ackCall
}

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
	lead     bool
}

// ackShared is metadata.Store.Ack, sharing a transaction with the group's concurrent acks.
func (c *Consumer) ackShared(ctx context.Context, group string, items []metadata.AckItem, notify bool) ([]string, error) {
	b := c.acker(group)
	defer c.releaseAcker(group, b)
	me := &ackCall{items: items, notify: notify, done: make(chan ackAnswer, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, me)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if !lead {
		// The transaction ahead is short; a queued call is settled (or made the leader)
		// when it ends, so it waits for that even if its own caller is gone.
		a := <-me.done
		if !a.lead {
			return a.statuses, a.err
		}
	}
	b.mu.Lock()
	calls := b.queue
	b.queue = nil
	b.mu.Unlock()

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
	// Hand the next transaction to the first call that queued meanwhile.
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.running = false
		b.mu.Unlock()
	} else {
		next := b.queue[0]
		b.mu.Unlock()
		next.done <- ackAnswer{lead: true}
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
