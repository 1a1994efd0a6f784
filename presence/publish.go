package presence

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// Defaults of PublisherConfig.
const (
	DefaultInterval = 10 * time.Second
	// DefaultIdle is how long a client stays listed after its last call.
	DefaultIdle = 5 * time.Minute
	// Fresh is how recent a node's published row must be to count: a node that stopped
	// publishing (gone, or cut off from Postgres) drops out after it.
	Fresh = time.Minute
	// forgetAfter is when rows of nodes that went away are deleted.
	forgetAfter = 10 * time.Minute
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Node names this node in the rows it writes.
	Node string
	// Interval is how often the table is written to Postgres (DefaultInterval).
	Interval time.Duration
	// Idle is how long a client is listed after its last call (DefaultIdle).
	Idle time.Duration
	// Logger receives publish failures (slog.Default).
	Logger *slog.Logger
}

// Publisher writes a node's Table to Postgres every Interval: one statement per
// interval, whatever the traffic.
type Publisher struct {
	cfg   PublisherConfig
	table *Table
	store *metadata.Store

	runs *prometheus.CounterVec

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// NewPublisher returns a publisher of table; metrics are registered on reg (nil: not
// registered).
func NewPublisher(cfg PublisherConfig, table *Table, store *metadata.Store, reg prometheus.Registerer) (*Publisher, error) {
	cfg.Interval = cmp.Or(cfg.Interval, DefaultInterval)
	cfg.Idle = cmp.Or(cfg.Idle, DefaultIdle)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Node == "" {
		return nil, fmt.Errorf("presence publisher: a node name is required")
	}
	p := &Publisher{cfg: cfg, table: table, store: store, stop: make(chan struct{}), done: make(chan struct{}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_clients_publish_total",
			Help: "Writes of this node's connected-clients table to Postgres (one statement each), by result.",
		}, []string{"result"})}
	if reg != nil {
		if err := reg.Register(p.runs); err != nil {
			return nil, fmt.Errorf("registering presence metrics: %w", err)
		}
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "floe_clients_dropped_total",
			Help: "Clients not listed because this node's connected-clients table was full.",
		}, func() float64 { return float64(table.Dropped()) })); err != nil {
			return nil, fmt.Errorf("registering presence metrics: %w", err)
		}
	}
	return p, nil
}

// Start publishes every Interval until Stop.
func (p *Publisher) Start() {
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), max(p.cfg.Interval, 5*time.Second))
				if err := p.RunOnce(ctx); err != nil {
					p.cfg.Logger.Warn("publishing connected clients", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (p *Publisher) Stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
}

// RunOnce writes the table once.
func (p *Publisher) RunOnce(ctx context.Context) error {
	lists := p.table.Snapshot(p.cfg.Idle)
	rows := make([]metadata.ClientsRow, 0, len(lists))
	for _, l := range lists {
		b, err := json.Marshal(l.Clients)
		if err != nil {
			return fmt.Errorf("encoding the clients of %s %s: %w", l.Kind, l.Name, err)
		}
		rows = append(rows, metadata.ClientsRow{Kind: l.Kind, Name: l.Name, Clients: b})
	}
	err := p.store.ClientsPublish(ctx, p.cfg.Node, rows, time.Now().Add(-forgetAfter))
	p.runs.WithLabelValues(result(err)).Inc()
	return err
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Merge joins the lists several nodes published for one group or topic: a client seen by
// several nodes is one client, its counters summed, its last sighting the latest.
func Merge(rows []metadata.ClientsRow) ([]domain.ConnectedClient, error) {
	byKey := map[clientKey]*domain.ConnectedClient{}
	for _, r := range rows {
		var cs []domain.ConnectedClient
		if err := json.Unmarshal(r.Clients, &cs); err != nil {
			return nil, fmt.Errorf("decoding the clients node %s published for %s %s: %w", r.Node, r.Kind, r.Name, err)
		}
		for _, c := range cs {
			k := clientKey{c.Protocol, c.ClientID}
			m, ok := byKey[k]
			if !ok {
				c.Nodes = []string{r.Node}
				byKey[k] = &c
				continue
			}
			if c.LastSeen.After(m.LastSeen) {
				// The latest sighting says where the client is and what it declared.
				m.LastSeen, m.Address = c.LastSeen, c.Address
				if len(c.Subscriptions) > 0 {
					m.Subscriptions = c.Subscriptions
				}
			}
			m.Type = cmp.Or(m.Type, c.Type)
			m.Language = cmp.Or(m.Language, c.Language)
			m.Version = cmp.Or(m.Version, c.Version)
			m.UserAgent = cmp.Or(m.UserAgent, c.UserAgent)
			for _, t := range c.Topics {
				if !slices.Contains(m.Topics, t) {
					m.Topics = append(m.Topics, t)
				}
			}
			m.Nodes = append(m.Nodes, r.Node)
			m.Delivered += c.Delivered
			m.Acked += c.Acked
			m.Nacked += c.Nacked
			m.Sent += c.Sent
			m.InFlight += c.InFlight
		}
	}
	out := make([]domain.ConnectedClient, 0, len(byKey))
	for _, c := range byKey {
		if c.Topics == nil {
			c.Topics = []string{}
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Protocol != out[j].Protocol {
			return out[i].Protocol < out[j].Protocol
		}
		return out[i].ClientID < out[j].ClientID
	})
	return out, nil
}
