package reader

import (
	"sync"
	"time"
)

// idleRecheck bounds how long a gate trusts a look that found nothing: changes that send
// no notification to this node (a nack or a reset on another node, a new subscription)
// are seen within it.
const idleRecheck = time.Second

// receiveGate coordinates this node's receives of one (group, topic), so that they spend
// Postgres transactions only where one can find work:
//
//   - after a look that found nothing, later receives wait in memory, without a
//     transaction, until a wake-up for the topic or group (Waker.Gen moved on), the
//     earliest hidden delivery turns visible, or idleRecheck passes;
//   - at most as many receives look at once as the last look saw queues with work (one
//     after an empty look): more would only find those queues locked by each other and
//     retry, a transaction each.
//
// Receives that may not look wait for the gate to change (another look ended) or for a
// wake-up. Correctness never depends on the gate: it only decides when to ask Postgres.
type receiveGate struct {
	mu      sync.Mutex
	users   int // receive calls holding the gate (it is dropped at zero)
	running int // looks (receive transactions) in progress
	limit   int // how many looks may run at once; at least 1
	idle    bool
	// idleGen is the waker generation read before the look that found nothing: a
	// different generation means something happened since.
	idleGen uint64
	// idleUntil is when the empty look stops counting.
	idleUntil time.Time
	// changed is closed (and replaced) whenever a look ends.
	changed chan struct{}
}

func newReceiveGate() *receiveGate {
	return &receiveGate{limit: 1, changed: make(chan struct{})}
}

// admit decides whether a receive may look now, given the waker generation it read just
// before. If not, it returns the channel that signals the next change of the gate and the
// time until which the gate stays idle (zero if it is busy rather than idle).
func (g *receiveGate) admit(gen uint64, now time.Time) (ok bool, changed <-chan struct{}, idleUntil time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.idle && gen == g.idleGen && now.Before(g.idleUntil) {
		return false, g.changed, g.idleUntil
	}
	if g.running >= g.limit {
		return false, g.changed, time.Time{}
	}
	g.idle = false
	g.running++
	return true, nil, time.Time{}
}

// lookResult is what a look found, as the gate needs it.
type lookResult struct {
	gen       uint64 // waker generation read before the look
	got       bool   // it handed out messages
	failed    bool   // it ended in an error: it says nothing about work
	contended bool   // queues with work were held by other receives
	ready     int    // queues with new messages when it looked
	next      time.Time
}

// done records the end of an admitted look.
func (g *receiveGate) done(r lookResult, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	switch {
	case r.got:
		g.limit = max(1, r.ready)
	case r.contended || r.failed:
		// Work exists but others hold it (or the look failed): one look at a time.
		g.limit = 1
	default:
		g.limit = 1
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
func (c *Consumer) gate(group, topic string) *receiveGate {
	key := [2]string{group, topic}
	c.gatesMu.Lock()
	defer c.gatesMu.Unlock()
	g := c.gates[key]
	if g == nil {
		g = newReceiveGate()
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
