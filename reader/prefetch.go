package reader

import (
	"context"
	"sync"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// Prefetching lets the receives of a busy concurrent group be answered from memory. A
// look in Postgres claims more messages than the receives waiting for it asked for, as
// many as the group took on this node in the last quarter second; what is left over waits
// on the node for the next receives, and a background look claims more when it runs low.
// Receives then cost no Postgres round trip, and one transaction claims the messages of
// many receives, so a consumer's cycle is its ack's group commit alone.
//
// Claimed messages are hidden in Postgres like any delivery, for the receive's invisible
// time plus prefetchHold, and a node hands one out only within prefetchHold of its claim:
// every message is still hidden for at least the invisible time its receive asked for,
// and no two nodes ever hold the same message. One not handed out by then is released:
// made visible again with its attempt unchanged, as if never claimed. A node that dies
// holding claims loses them like a consumer that dies holding messages: they are
// delivered again once hidden time lapses.
const (
	// prefetchHold is how long a claimed message may wait on the node; it is also how
	// much longer than asked a prefetched message stays hidden at most.
	prefetchHold = time.Second
	// prefetchWindow is the demand a node keeps claimed ahead: the messages a group
	// took in that long.
	prefetchWindow = 250 * time.Millisecond
	// prefetchMin is the least demand that is worth claiming ahead for: below it, every
	// receive looks for itself, as without prefetching.
	prefetchMin = 64
	// prefetchMax bounds the messages claimed ahead per group, topic and invisible time.
	prefetchMax = 4096
)

// prefetchKey names one pool of claimed messages: receives take only messages claimed
// with their own invisible time.
type prefetchKey struct {
	group, topic string
	invisible    time.Duration
}

// claimedMsg is a message claimed ahead, with the last moment it may be handed out.
type claimedMsg struct {
	m     domain.ReceivedMessage
	until time.Time
}

// prefetchPool holds one key's claimed messages, oldest first, and its recent demand.
type prefetchPool struct {
	mu   sync.Mutex
	msgs []claimedMsg
	// taken counts messages handed out since windowStart; rate is the previous full
	// window's count (prefetchWindow long).
	taken       int
	windowStart time.Time
	rate        int
	refilling   bool
	lastUsed    time.Time
}

// prefetcher is every pool of a Consumer.
type prefetcher struct {
	mu    sync.Mutex
	pools map[prefetchKey]*prefetchPool
}

func (c *Consumer) pool(k prefetchKey) *prefetchPool {
	c.prefetch.mu.Lock()
	defer c.prefetch.mu.Unlock()
	p := c.prefetch.pools[k]
	if p == nil {
		p = &prefetchPool{}
		c.prefetch.pools[k] = p
	}
	return p
}

// noteTaken records n messages handed out at now for the demand estimate: the messages
// taken in the last full window. A window as short as what the pool should hold lets a
// group that starts busy be served from memory a quarter second in.
func (p *prefetchPool) noteTaken(n int, now time.Time) {
	if now.Sub(p.windowStart) >= prefetchWindow {
		if now.Sub(p.windowStart) < 2*prefetchWindow {
			p.rate = p.taken
		} else {
			p.rate = 0 // a quiet window in between
		}
		p.taken, p.windowStart = 0, now
	}
	p.taken += n
	p.lastUsed = now
}

// want is how many messages the pool should hold beyond what it holds (under p.mu).
func (p *prefetchPool) want() int {
	target := min(p.rate, prefetchMax)
	if target < prefetchMin {
		return 0
	}
	return max(target-len(p.msgs), 0)
}

// take hands out up to n claimed messages that may still be handed out at now; expired
// ones are returned to be released.
func (p *prefetchPool) take(n int, now time.Time) (out []claimedMsg, expired []claimedMsg) {
	i := 0
	for i < len(p.msgs) && now.After(p.msgs[i].until) {
		i++
	}
	if i > 0 {
		expired = append(expired, p.msgs[:i]...)
	}
	j := min(i+n, len(p.msgs))
	out = append(out, p.msgs[i:j]...)
	p.msgs = p.msgs[j:]
	if len(p.msgs) == 0 {
		p.msgs = nil // let the backing array go
	}
	if len(out) > 0 {
		p.noteTaken(len(out), now)
	}
	return out, expired
}

// takePrefetched answers a receive from the pool of its key, and starts a background
// look when the pool runs low.
func (c *Consumer) takePrefetched(tg *target, k prefetchKey, n int) []claimedMsg {
	p := c.pool(k)
	now := time.Now()
	p.mu.Lock()
	out, expired := p.take(n, now)
	refill := false
	if w := p.want(); w > 0 && !p.refilling && len(out) > 0 {
		p.refilling, refill = true, true
	}
	p.mu.Unlock()
	c.release(k.group, expired)
	if refill {
		go c.refill(tg, k, p)
	}
	return out
}

// extraFor is how many messages a look for key k should claim beyond its receives'
// demand, and the hidden time to claim them with.
func (c *Consumer) extraFor(k prefetchKey) (int, time.Duration) {
	p := c.pool(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noteTaken(0, time.Now())
	if w := p.want(); w > 0 {
		return w, k.invisible + prefetchHold
	}
	return 0, k.invisible
}

// keep puts a look's leftover messages into the pool of key k, claimed at claimed.
func (c *Consumer) keep(k prefetchKey, claimed time.Time, msgs []domain.ReceivedMessage) {
	if len(msgs) == 0 {
		return
	}
	p := c.pool(k)
	until := claimed.Add(prefetchHold)
	p.mu.Lock()
	for _, m := range msgs {
		p.msgs = append(p.msgs, claimedMsg{m: m, until: until})
	}
	p.mu.Unlock()
	// Receives of the group waiting on this node look again.
	c.waker.Wake(k.group)
}

// putBack returns messages taken from pool k to its front, with their holds (a receive
// that took them was served otherwise meanwhile).
func (c *Consumer) putBack(k prefetchKey, msgs []claimedMsg) {
	p := c.pool(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(append(make([]claimedMsg, 0, len(msgs)+len(p.msgs)), msgs...), p.msgs...)
}

// messagesOf returns the messages of claimed ones.
func messagesOf(cms []claimedMsg) []domain.ReceivedMessage {
	out := make([]domain.ReceivedMessage, len(cms))
	for i, cm := range cms {
		out[i] = cm.m
	}
	return out
}

// refill claims more messages for pool p in the background.
func (c *Consumer) refill(tg *target, k prefetchKey, p *prefetchPool) {
	defer func() {
		p.mu.Lock()
		p.refilling = false
		p.mu.Unlock()
	}()
	n, hidden := c.extraFor(k)
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), MaxWait)
	defer cancel()
	claimed := time.Now()
	r, err := c.receiveOnce(ctx, tg, hidden, n)
	c.metrics.looks.WithLabelValues(lookOutcome(len(r.msgs), r.contended, err)).Inc()
	if err != nil {
		c.cfg.Logger.Debug("claiming messages ahead", "group", k.group, "topic", k.topic, "err", err)
		return
	}
	c.metrics.prefetched.Add(float64(len(r.msgs)))
	c.keep(k, claimed, r.msgs)
}

// sweepPrefetched releases the claimed messages that were not handed out in time, and
// forgets pools unused for a while. It runs every prefetchHold.
func (c *Consumer) sweepPrefetched(now time.Time) {
	c.prefetch.mu.Lock()
	type job struct {
		group string
		msgs  []claimedMsg
	}
	var jobs []job
	for k, p := range c.prefetch.pools {
		p.mu.Lock()
		_, expired := p.take(0, now)
		idle := len(p.msgs) == 0 && !p.refilling && now.Sub(p.lastUsed) > time.Minute
		p.mu.Unlock()
		if len(expired) > 0 {
			jobs = append(jobs, job{k.group, expired})
		}
		if idle {
			delete(c.prefetch.pools, k)
		}
	}
	c.prefetch.mu.Unlock()
	for _, j := range jobs {
		c.release(j.group, j.msgs)
	}
}

// releaseAll releases every claimed message (the node is stopping).
func (c *Consumer) releaseAll() {
	c.prefetch.mu.Lock()
	byGroup := map[string][]claimedMsg{}
	for k, p := range c.prefetch.pools {
		p.mu.Lock()
		byGroup[k.group] = append(byGroup[k.group], p.msgs...)
		p.msgs = nil
		p.mu.Unlock()
	}
	c.prefetch.mu.Unlock()
	for g, msgs := range byGroup {
		c.release(g, msgs)
	}
}

// release makes claimed messages that were never handed out visible again at once, their
// attempt unchanged. If it fails they turn visible when their hidden time lapses.
func (c *Consumer) release(group string, msgs []claimedMsg) {
	if len(msgs) == 0 {
		return
	}
	items := make([]metadata.AckItem, 0, len(msgs))
	for _, cm := range msgs {
		r, err := c.signer.Decode(group, cm.m.Topic, cm.m.ReceiptHandle)
		if err != nil {
			continue // the node signed it: cannot happen
		}
		items = append(items, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset})
	}
	ctx, cancel := context.WithTimeout(context.Background(), MaxWait)
	defer cancel()
	n, err := c.store.Release(ctx, group, items)
	if err != nil {
		c.cfg.Logger.Warn("releasing messages claimed ahead; they turn visible when their hidden time lapses",
			"group", group, "messages", len(items), "err", err)
		return
	}
	c.metrics.released.Add(float64(n))
}

// prefetchLoop sweeps the pools until stop closes.
func (c *Consumer) prefetchLoop(stop <-chan struct{}) {
	t := time.NewTicker(prefetchHold / 2)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.sweepPrefetched(now)
		}
	}
}
