package reader

import (
	"sync"
	"time"

	"github.com/floemq/floe/domain"
)

// idleRecheck bounds how long a gate trusts a look that found nothing: changes that send
// no notification to this node (a nack or a reset on another node, a new subscription)
// are seen within it.
const idleRecheck = time.Second

// maxLookBudget bounds the messages one look hands out for the receives it serves: four
// full receives, so that a node's consumers parked on a busy topic (64 receives of 32 at
// 20,000 msg/s, a 100 ms flush being 2,000 messages) are all served by the look that
// follows a commit rather than by two in a row.
const maxLookBudget = 4 * MaxMaxMessages

// receiveGate coordinates this node's receives of one (group, topic), so that they spend
// Postgres transactions only where one can find work:
//
//   - one look (receive transaction) runs at a time, and it serves every receive waiting
//     in the gate when it starts that asked for the same invisible time (up to
//     maxLookBudget messages): each gets its own messages and receipt handles, the
//     transaction is shared. Looks at once on one node would only find each other's
//     queues locked and retry, a transaction each (orderly groups differ: see
//     newReceiveGate);
//   - after a look that found nothing, or that took every queue with work, later
//     receives wait in memory, without a transaction, until a wake-up for the topic or
//     group (Waker.Gen moved on), the earliest hidden delivery turns visible, or
//     idleRecheck passes.
//
// Correctness never depends on the gate: it only decides when to ask Postgres and which
// receives share an answer.
type receiveGate struct {
	mu      sync.Mutex
	users   int // receive calls holding the gate (it is dropped at zero)
	running int // looks (receive transactions) in progress
	// limit is how many looks may run at once: 1 where looks are shared; for orderly
	// groups (see newReceiveGate) as many as the last look saw queues with new messages.
	limit int
	// shared: a look serves the receives parked when it starts.
	shared bool
	idle   bool
	// idleGen is the waker generation read before the look that found nothing: a
	// different generation means something happened since.
	idleGen uint64
	// idleUntil is when the empty look stops counting.
	idleUntil time.Time
	// changed is closed (and replaced) whenever a look ends.
	changed chan struct{}
	// parked are the receives waiting in the gate, in arrival order.
	parked []*gateWaiter
}

// newReceiveGate returns a gate whose looks are shared, unless orderly: an orderly look
// locks one queue (see Consumer.receiveOnce), so a shared one would serve all of a node's
// receives from one queue at a time; orderly receives look on their own instead, at most
// as many at once as queues had new messages at the last look.
func newReceiveGate(orderly bool) *receiveGate {
	return &receiveGate{changed: make(chan struct{}), limit: 1, shared: !orderly}
}

// gateWaiter is one receive call as the gate sees it.
type gateWaiter struct {
	max       int
	invisible time.Duration
	parked    bool
	// taken is set when a look serves this receive; its share then arrives on share.
	taken bool
	share chan lookShare
}

// lookShare is a served receive's part of a look's result.
type lookShare struct {
	msgs []domain.ReceivedMessage
	err  error
}

func newGateWaiter(opts ReceiveOptions) *gateWaiter {
	return &gateWaiter{max: opts.MaxMessages, invisible: opts.Invisible, share: make(chan lookShare, 1)}
}

// admission is what admit decided.
type admission int

const (
	admitWait  admission = iota // wait: parked in the gate
	admitLook                   // look now, serving the returned receives too
	admitTaken                  // a running look serves this receive: wait for its share
)

// admit decides whether receive w may look now, given the waker generation it read just
// before. If so, it also returns the parked receives the look serves (taken out of the
// gate). If not, w is parked, and admit returns the channel that signals the next change
// of the gate and the time until which the gate stays idle (zero if it is busy rather
// than idle).
func (g *receiveGate) admit(w *gateWaiter, gen uint64, now time.Time) (a admission, served []*gateWaiter, changed <-chan struct{}, idleUntil time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.taken {
		return admitTaken, nil, nil, time.Time{}
	}
	if g.idle && gen == g.idleGen && now.Before(g.idleUntil) {
		g.park(w)
		return admitWait, nil, g.changed, g.idleUntil
	}
	if g.running >= g.limit {
		g.park(w)
		return admitWait, nil, g.changed, time.Time{}
	}
	g.idle = false
	g.running++
	g.unpark(w)
	if !g.shared {
		return admitLook, nil, nil, time.Time{}
	}
	budget := w.max
	kept := g.parked[:0]
	for _, o := range g.parked {
		if o.invisible == w.invisible && budget+o.max <= maxLookBudget {
			budget += o.max
			o.taken, o.parked = true, false
			served = append(served, o)
			continue
		}
		kept = append(kept, o)
	}
	clear(g.parked[len(kept):])
	g.parked = kept
	return admitLook, served, nil, time.Time{}
}

func (g *receiveGate) park(w *gateWaiter) {
	if !w.parked {
		w.parked = true
		g.parked = append(g.parked, w)
	}
}

func (g *receiveGate) unpark(w *gateWaiter) {
	if !w.parked {
		return
	}
	w.parked = false
	for i, o := range g.parked {
		if o == w {
			g.parked = append(g.parked[:i], g.parked[i+1:]...)
			return
		}
	}
}

// leave takes a receive that stops waiting out of the gate. It reports false if a look
// already serves it: its share is on the way.
func (g *receiveGate) leave(w *gateWaiter) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.taken {
		return false
	}
	g.unpark(w)
	return true
}

// received marks a served receive's share as taken in: it may look or park again.
func (g *receiveGate) received(w *gateWaiter) {
	g.mu.Lock()
	w.taken = false
	g.mu.Unlock()
}

// lookResult is what a look found, as the gate needs it.
type lookResult struct {
	gen       uint64 // waker generation read before the look
	got       bool   // it handed out messages
	failed    bool   // it ended in an error: it says nothing about work
	contended bool   // queues with work were held by other receives
	// exhausted: no queue with work was left unlocked when the look stopped, so
	// (contended aside) it took all there was.
	exhausted bool
	ready     int // queues with new messages when it looked
	next      time.Time
}

// done records the end of an admitted look; the caller then sends the shares of the
// receives it served.
func (g *receiveGate) done(r lookResult, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	switch {
	case r.failed || r.contended:
		g.limit = 1
	case r.got && !g.shared:
		g.limit = max(1, r.ready)
	case !r.got || r.exhausted:
		g.limit = 1
		// Nothing left to find until something happens.
		g.idle, g.idleGen = true, r.gen
		g.idleUntil = now.Add(idleRecheck)
		if !r.next.IsZero() && r.next.Before(g.idleUntil) {
			g.idleUntil = r.next
		}
	}
	close(g.changed)
	g.changed = make(chan struct{})
}

// gate returns the gate of (group, topic), held until release.
func (c *Consumer) gate(group, topic string, orderly bool) *receiveGate {
	key := [2]string{group, topic}
	c.gatesMu.Lock()
	defer c.gatesMu.Unlock()
	g := c.gates[key]
	if g == nil {
		g = newReceiveGate(orderly)
		c.gates[key] = g
	}
	g.users++
	return g
}

// releaseGate drops a receive's hold on a gate; the last one removes it.
func (c *Consumer) releaseGate(group, topic string, g *receiveGate) {
	c.gatesMu.Lock()
	defer c.gatesMu.Unlock()
	g.users--
	if g.users == 0 {
		delete(c.gates, [2]string{group, topic})
	}
}
