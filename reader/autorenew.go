package reader

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/presence"
)

// Auto-renewal of receipts (the auto_renew of RocketMQ's ReceiveMessageRequest): push
// consumers receive batches into a local cache and run their listener on each message
// for as long as it takes, without ever extending the invisible time themselves; the
// RocketMQ proxy keeps the messages they hold hidden until they settle them. Floe does the
// same on the node that served the receive: shortly before a held message would turn
// visible, its delivery row is hidden for another invisible time, while
//   - the message is not settled (ack, nack or change-invisible end the renewal: they
//     finish the message in its row, or move it to a row of its own),
//   - the client was seen (on any node) within the last AutoRenewLiveness, so a consumer
//     that died lets its messages go within an invisible time or so,
//   - and for at most MaxAutoRenew from the receive (RocketMQ's renewMaxTimeMillis, 3 h),
//     after which the message lapses and is redelivered as a failed attempt.
// Receipt handles stay valid: renewal changes no id or version. A node that dies stops
// renewing its clients' messages, which then lapse: at-least-once, as always.

// Defaults of auto-renewal.
const (
	// MaxAutoRenew bounds how long a message is kept hidden for the consumer holding it.
	MaxAutoRenew = 3 * time.Hour
	// AutoRenewLiveness is how recently a client must have been seen to be renewed for.
	AutoRenewLiveness = 90 * time.Second
	// autoRenewAhead is how long before it would turn visible a held message is renewed
	// (at most half its invisible time).
	autoRenewAhead = 10 * time.Second
	// autoRenewTick is how often the held messages are looked at (in memory; Postgres only
	// when some are due).
	autoRenewTick = 250 * time.Millisecond
)

// held is one message a client holds with auto-renewal.
type held struct {
	group, client string
	item          metadata.RenewItem
	visibleAt     time.Time
	since         time.Time
	// misses counts renewals in a row that did not extend the message.
	misses int
}

// renewer tracks the held messages of one node.
type renewer struct {
	once sync.Once
	mu   sync.Mutex
	held map[[2]int64]*held // by (delivery id, offset)
	// clients is the node's table of the clients it saw, for liveness.
	clients *presence.Table
}

// newAutoRenewMetric counts auto-renewal outcomes; NewConsumer registers it.
func newAutoRenewMetric() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_reader_auto_renew_messages_total",
		Help: "Messages held by auto-renewing push consumers, by outcome: held (received), renewed (hidden again), settled (acked, nacked or changed by the client), client_gone (its client was not seen lately), max_time (held for MaxAutoRenew), lapsed (turned visible before it could be renewed).",
	}, []string{"result"})
}

// AutoRenew keeps messages a client of group received from topic hidden while it holds
// them (see the comment above). invisible is the receive's invisible time, each renewal's
// extension too.
// clients is the node's table of the clients it saw (presence), which says with the
// other nodes' published tables whether a client is alive.
func (c *Consumer) AutoRenew(group, topic, clientID string, msgs []domain.ReceivedMessage, invisible time.Duration, clients *presence.Table) {
	if len(msgs) == 0 || clientID == "" {
		return
	}
	r := &c.renew
	r.once.Do(func() {
		r.held = map[[2]int64]*held{}
		r.clients = clients
		go c.renewLoop()
	})
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		rc, err := c.signer.Decode(group, topic, m.ReceiptHandle)
		if err != nil {
			continue
		}
		r.held[[2]int64{rc.DeliveryID, rc.Offset}] = &held{group: group, client: clientID, since: now, visibleAt: now.Add(invisible),
			item: metadata.RenewItem{DeliveryID: rc.DeliveryID, Version: rc.Version, Offset: rc.Offset, Extend: invisible}}
	}
	c.metrics.autoRenew.WithLabelValues("held").Add(float64(len(msgs)))
}

// renewLoop renews held messages until the consumer closes.
func (c *Consumer) renewLoop() {
	t := time.NewTicker(autoRenewTick)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.renewDue()
		}
	}
}

// renewDue renews the held messages that would turn visible soon, in one statement.
func (c *Consumer) renewDue() {
	r := &c.renew
	now := time.Now()
	var due []*held
	count := func(result string) { c.metrics.autoRenew.WithLabelValues(result).Inc() }
	r.mu.Lock()
	for k, h := range r.held {
		switch {
		case !now.Before(h.visibleAt):
			delete(r.held, k)
			count("lapsed")
		case now.Sub(h.since) >= MaxAutoRenew:
			delete(r.held, k)
			count("max_time")
		case h.visibleAt.Sub(now) <= min(autoRenewAhead, h.item.Extend/2):
			due = append(due, h)
		}
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), autoRenewAhead)
	defer cancel()
	alive := map[string]map[string]bool{}
	var items []metadata.RenewItem
	var renewing []*held
	for _, h := range due {
		if _, ok := alive[h.group]; !ok {
			alive[h.group] = c.clientsAlive(ctx, h.group, now.Add(-AutoRenewLiveness))
		}
		if !alive[h.group][h.client] {
			c.dropHeld(h, "client_gone")
			continue
		}
		items = append(items, h.item)
		renewing = append(renewing, h)
	}
	renewed, err := c.store.RenewDeliveries(ctx, items)
	if err != nil {
		// Tried again at the next tick while the messages are hidden.
		c.cfg.Logger.Warn("renewing held messages", "messages", len(items), "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range renewing {
		if at, ok := renewed[h.item.DeliveryID]; ok {
			h.visibleAt = at
			count("renewed")
			continue
		}
		// Not extended: settled or redelivered, or its row was busy for a moment (an ack
		// in progress, an orderly receive): try a few ticks more before letting it go.
		if h.misses++; h.misses >= 3 {
			delete(r.held, [2]int64{h.item.DeliveryID, h.item.Offset})
			count("settled")
		}
	}
}

func (c *Consumer) dropHeld(h *held, result string) {
	c.renew.mu.Lock()
	delete(c.renew.held, [2]int64{h.item.DeliveryID, h.item.Offset})
	c.renew.mu.Unlock()
	c.metrics.autoRenew.WithLabelValues(result).Inc()
}

// clientsAlive returns the clients of group seen at or after since: by this node, or by
// any node as published in Postgres. When Postgres cannot say, only this node's count.
func (c *Consumer) clientsAlive(ctx context.Context, group string, since time.Time) map[string]bool {
	out := c.renew.clients.SeenSince(metadata.ClientsOfGroup, group, since)
	rows, err := c.store.ClientsList(ctx, metadata.ClientsOfGroup, group, since)
	if err != nil {
		return out
	}
	merged, err := presence.Merge(rows)
	if err != nil {
		return out
	}
	for _, cl := range merged {
		if !cl.LastSeen.Before(since) {
			out[cl.ClientID] = true
		}
	}
	return out
}
