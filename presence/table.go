// Package presence keeps the clients a node has seen recently: the consumers of each
// consumer group and the producers of each topic, over HTTP and gRPC, with what they said
// of themselves and how many messages they took and settled.
//
// Each node keeps its own small table in memory, touched on every receive, ack, nack and
// send without any Postgres write (a map update under a mutex), and a Publisher writes it
// to Postgres every few seconds, one statement per node. Any node answers the admin
// routes by merging the rows every node published in the last minute.
package presence

import (
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// Bounds on one node's table: a client past them is not recorded (and counted).
const (
	// MaxClientsPerName is the most clients kept per group or topic; the one seen least
	// recently makes room for a new one.
	MaxClientsPerName = 1000
	// MaxNames is the most groups and topics kept.
	MaxNames = 10_000
	// maxLeases bounds the in-flight estimate's list of deliveries per client.
	maxLeases = 64
	// maxTopics bounds the topics listed per client.
	maxTopics = 64
)

// Client types of HTTP clients (RocketMQ clients say their own).
const (
	TypeConsumer = "CONSUMER"
	TypeProducer = "PRODUCER"
)

// Identity is who called: enough to tell clients apart and to show them.
type Identity struct {
	Protocol string // domain.ProtocolHTTP or domain.ProtocolGRPC
	ID       string
	Address  string
	// Type, Language, Version and UserAgent are kept when given, never cleared: a gRPC
	// call carries only the client id, its settings the rest.
	Type      string
	Language  string
	Version   string
	UserAgent string
}

// HTTPClient is the identity of an HTTP caller: the X-Floe-Client-Id header when given,
// else its address with a hash of its User-Agent (two processes on one host with the same
// client library are one client then).
func HTTPClient(address, userAgent, clientID, typ string) Identity {
	id := clientID
	if id == "" {
		h := fnv.New32a()
		h.Write([]byte(userAgent))
		id = address + "/" + strconv.FormatUint(uint64(h.Sum32()), 16)
	}
	return Identity{Protocol: domain.ProtocolHTTP, ID: id, Address: address, Type: typ, UserAgent: userAgent}
}

type nameKey struct{ kind, name string }

type clientKey struct{ protocol, id string }

// lease is n messages handed out together, in flight until expires unless settled.
type lease struct {
	expires time.Time
	n       int64
}

type entry struct {
	c      domain.ConnectedClient
	leases []lease
}

// Table is one node's clients. The zero value is not usable; use NewTable. A nil *Table
// records nothing, so callers need not check.
type Table struct {
	mu      sync.Mutex
	names   map[nameKey]map[clientKey]*entry
	dropped int64
	now     func() time.Time
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{names: map[nameKey]map[clientKey]*entry{}, now: time.Now}
}

// get returns the entry of id under (kind, name), adding it when add is set and the bounds
// allow; it updates the identity and last seen. The caller holds t.mu.
func (t *Table) get(kind, name string, id Identity, add bool) *entry {
	nk := nameKey{kind, name}
	clients, ok := t.names[nk]
	if !ok {
		if !add || len(t.names) >= MaxNames {
			t.dropped += b2i(add)
			return nil
		}
		clients = map[clientKey]*entry{}
		t.names[nk] = clients
	}
	ck := clientKey{id.Protocol, id.ID}
	e, ok := clients[ck]
	if !ok {
		if !add {
			return nil
		}
		if len(clients) >= MaxClientsPerName {
			evictOldest(clients)
		}
		e = &entry{c: domain.ConnectedClient{ClientID: id.ID, Protocol: id.Protocol}}
		clients[ck] = e
	}
	c := &e.c
	c.LastSeen = t.now()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Address, id.Address)
	set(&c.Type, id.Type)
	set(&c.Language, id.Language)
	set(&c.Version, id.Version)
	set(&c.UserAgent, id.UserAgent)
	return e
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func evictOldest(clients map[clientKey]*entry) {
	var oldest clientKey
	var at time.Time
	first := true
	for k, e := range clients {
		if first || e.c.LastSeen.Before(at) {
			oldest, at, first = k, e.c.LastSeen, false
		}
	}
	delete(clients, oldest)
}

func (e *entry) addTopic(topic string) {
	if topic != "" && !slices.Contains(e.c.Topics, topic) && len(e.c.Topics) < maxTopics {
		e.c.Topics = append(e.c.Topics, topic)
	}
}

// Declare records what a client said of itself: a RocketMQ client's settings (its group
// and subscriptions, or the topics it publishes to). kind is metadata.ClientsOfGroup or
// metadata.ClientsOfTopic.
func (t *Table) Declare(kind, name string, id Identity, subs []domain.ClientSubscription) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(kind, name, id, true)
	if e == nil {
		return
	}
	if kind == metadata.ClientsOfGroup {
		e.c.Subscriptions = subs
		for _, s := range subs {
			e.addTopic(s.Topic)
		}
	}
}

// Touch marks a client seen now under (kind, name) if the table holds it (a RocketMQ
// client with an open telemetry stream is connected even while it sends nothing).
func (t *Table) Touch(kind, name string, id Identity) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.get(kind, name, id, false)
	t.mu.Unlock()
}

// Delivered records n messages of topic handed to a consumer of group, hidden from others
// for invisible.
func (t *Table) Delivered(group, topic string, id Identity, n int, invisible time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(metadata.ClientsOfGroup, group, id, true)
	if e == nil {
		return
	}
	e.addTopic(topic)
	if n <= 0 {
		return
	}
	e.c.Delivered += int64(n)
	l := lease{expires: t.now().Add(invisible), n: int64(n)}
	if len(e.leases) >= maxLeases {
		// Merge into the newest: its messages then count until the later expiry.
		last := &e.leases[len(e.leases)-1]
		last.n += l.n
		if l.expires.After(last.expires) {
			last.expires = l.expires
		}
		return
	}
	e.leases = append(e.leases, l)
}

// Settled records messages of topic a consumer of group acked and nacked (or gave up on).
// The in-flight estimate takes them from its oldest deliveries: handles name no client.
func (t *Table) Settled(group, topic string, id Identity, acked, nacked int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(metadata.ClientsOfGroup, group, id, true)
	if e == nil {
		return
	}
	e.addTopic(topic)
	e.c.Acked += int64(acked)
	e.c.Nacked += int64(nacked)
	e.expire(t.now())
	left := int64(acked + nacked)
	for left > 0 && len(e.leases) > 0 {
		take := min(left, e.leases[0].n)
		e.leases[0].n -= take
		left -= take
		if e.leases[0].n == 0 {
			e.leases = e.leases[1:]
		}
	}
}

// Sent records n messages a producer sent to topic.
func (t *Table) Sent(topic string, id Identity, n int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.get(metadata.ClientsOfTopic, topic, id, true); e != nil {
		e.c.Sent += int64(n)
		e.addTopic(topic)
	}
}

// Forget removes a client that said it is going away.
func (t *Table) Forget(protocol, id string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for nk, clients := range t.names {
		delete(clients, clientKey{protocol, id})
		if len(clients) == 0 {
			delete(t.names, nk)
		}
	}
}

// expire drops deliveries whose invisible time ran out: they are due again, for any
// consumer.
func (e *entry) expire(now time.Time) {
	kept := e.leases[:0]
	for _, l := range e.leases {
		if l.expires.After(now) {
			kept = append(kept, l)
		}
	}
	e.leases = kept
}

// Snapshot forgets clients not seen since idle ago and returns the rest, as lists per
// group and topic, sorted by name and client id.
func (t *Table) Snapshot(idle time.Duration) []List {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var out []List
	for nk, clients := range t.names {
		l := List{Kind: nk.kind, Name: nk.name}
		for ck, e := range clients {
			if now.Sub(e.c.LastSeen) > idle {
				delete(clients, ck)
				continue
			}
			e.expire(now)
			c := e.c
			c.Topics = slices.Clone(c.Topics)
			c.Subscriptions = slices.Clone(c.Subscriptions)
			for _, l := range e.leases {
				c.InFlight += l.n
			}
			l.Clients = append(l.Clients, c)
		}
		if len(clients) == 0 {
			delete(t.names, nk)
			continue
		}
		sort.Slice(l.Clients, func(i, j int) bool { return l.Clients[i].ClientID < l.Clients[j].ClientID })
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Dropped is the number of clients not recorded because the table was full.
func (t *Table) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// List is the clients of one group or topic on one node.
type List struct {
	Kind    string // metadata.ClientsOfGroup or metadata.ClientsOfTopic
	Name    string
	Clients []domain.ConnectedClient
}

// SeenSince returns the ids of the clients of (kind, name) this node saw at or after
// since, without changing the table.
func (t *Table) SeenSince(kind, name string, since time.Time) map[string]bool {
	out := map[string]bool{}
	if t == nil {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for ck, e := range t.names[nameKey{kind, name}] {
		if !e.c.LastSeen.Before(since) {
			out[ck.id] = true
		}
	}
	return out
}
