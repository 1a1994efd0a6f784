package grpcapi

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/floemq/floe/admin"
	floefilter "github.com/floemq/floe/filter"
	"github.com/floemq/floe/metadata"
)

// client is one connected RocketMQ client, known by the id it sends with every call.
type client struct {
	id        string
	namespace string

	mu       sync.Mutex
	typ      v2.ClientType
	topics   []string // stored names of the topics a producer publishes to
	stream   grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]
	sendMu   sync.Mutex
	lastSeen time.Time
	// seen is what its settings said, for the connected-clients table (clients.go).
	seen seenInfo
}

// send writes a command on the client's telemetry stream; false when it has none.
func (c *client) send(cmd *v2.TelemetryCommand) bool {
	c.mu.Lock()
	st := c.stream
	c.mu.Unlock()
	if st == nil {
		return false
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return st.Send(cmd) == nil
}

// registry holds the clients this node has heard from. A client is forgotten when its
// telemetry stream ends and it has not called for a while.
type registry struct {
	mu      sync.Mutex
	clients map[string]*client
}

func newRegistry() *registry { return &registry{clients: map[string]*client{}} }

func (r *registry) get(id string) *client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clients[id]
}

func (r *registry) getOrAdd(id, ns string) *client {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[id]
	if !ok {
		c = &client{id: id, namespace: ns}
		r.clients[id] = c
	}
	c.lastSeen = time.Now()
	return c
}

// forgetIdle forgets clients without a telemetry stream that have not called since
// before cutoff (a client that crashed never says goodbye).
func (r *registry) forgetIdle(cutoff time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, c := range r.clients {
		c.mu.Lock()
		idle := c.stream == nil && c.lastSeen.Before(cutoff)
		c.mu.Unlock()
		if idle {
			delete(r.clients, id)
			n++
		}
	}
	return n
}

// size is the number of clients known.
func (r *registry) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.clients, id)
}

// producers returns the connected producers that publish to topic.
func (r *registry) producers(topic string) []*client {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*client
	for _, c := range r.clients {
		c.mu.Lock()
		ok := c.stream != nil && c.typ == v2.ClientType_PRODUCER && containsString(c.topics, topic)
		c.mu.Unlock()
		if ok {
			out = append(out, c)
		}
	}
	return out
}

// producerTopics returns every topic a connected producer publishes to.
func (r *registry) producerTopics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, c := range r.clients {
		c.mu.Lock()
		if c.stream != nil && c.typ == v2.ClientType_PRODUCER {
			for _, t := range c.topics {
				if !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
		}
		c.mu.Unlock()
	}
	return out
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Telemetry is the client's command channel: it sends its settings, the server answers
// with the settings it must use, and later pushes commands (transaction checks) on it.
func (s *Server) Telemetry(stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]) error {
	ctx := stream.Context()
	info := infoOf(ctx)
	if info.clientID == "" {
		return grpcstatus.Error(grpccodes.InvalidArgument, "CLIENT_ID_REQUIRED: the x-mq-client-id header is missing")
	}
	c := s.clients.getOrAdd(info.clientID, info.namespace)
	c.mu.Lock()
	c.stream = stream
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.stream == stream {
			c.stream = nil
		}
		c.lastSeen = time.Now()
		c.mu.Unlock()
	}()
	for {
		cmd, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // the client went away; it reconnects with a new stream
		}
		settings := cmd.GetSettings()
		if settings == nil {
			continue // results of commands the server never sends (thread dumps, verifications)
		}
		reply, err := s.applySettings(ctx, c, settings)
		if err != nil {
			// Ending the stream fails the client's start with this message.
			st := s.toStatus(err)
			s.logger.Info("gRPC client settings refused", "client", c.id, "code", st.Code.String(), "message", st.Message)
			return grpcstatus.Errorf(grpccodes.FailedPrecondition, "%s: %s", st.Code, st.Message)
		}
		if !c.send(&v2.TelemetryCommand{Status: okStatus, Command: &v2.TelemetryCommand_Settings{Settings: reply}}) {
			return nil
		}
	}
}

// applySettings records a client's settings (and, for consumers, makes the group and its
// subscriptions exist) and returns the settings the client must use.
func (s *Server) applySettings(ctx context.Context, c *client, in *v2.Settings) (*v2.Settings, error) {
	typ := in.GetClientType()
	out := &v2.Settings{ClientType: &typ, AccessPoint: in.GetAccessPoint(), RequestTimeout: in.GetRequestTimeout(),
		UserAgent: in.GetUserAgent(), Metric: &v2.Metric{On: false}}
	switch typ {
	case v2.ClientType_PRODUCER:
		var topics []string
		for _, r := range in.GetPublishing().GetTopics() {
			n, err := resolve(ctx, r, userTopic)
			if err != nil {
				return nil, err
			}
			if err := allow(ctx, actProduce, kindTopic, r.GetName()); err != nil {
				return nil, err
			}
			topics = append(topics, n)
		}
		c.mu.Lock()
		c.typ, c.topics = typ, topics
		c.mu.Unlock()
		s.noteSettings(ctx, c, in, nil, "")
		out.BackoffPolicy = in.GetBackoffPolicy()
		if out.BackoffPolicy == nil {
			out.BackoffPolicy = &v2.RetryPolicy{MaxAttempts: 3, Strategy: &v2.RetryPolicy_ExponentialBackoff{ExponentialBackoff: &v2.ExponentialBackoff{
				Initial: durationpb.New(10 * time.Millisecond), Max: durationpb.New(time.Second), Multiplier: 2}}}
		}
		out.PubSub = &v2.Settings_Publishing{Publishing: &v2.Publishing{Topics: in.GetPublishing().GetTopics(),
			MaxBodySize: int32(s.cfg.MaxBodyBytes), ValidateMessageType: true}}
		return out, nil
	case v2.ClientType_PUSH_CONSUMER, v2.ClientType_SIMPLE_CONSUMER, v2.ClientType_LITE_PUSH_CONSUMER, v2.ClientType_LITE_SIMPLE_CONSUMER:
		sub := in.GetSubscription()
		group, err := resolve(ctx, sub.GetGroup(), groupName)
		if err != nil {
			return nil, err
		}
		if err := allow(ctx, actConsume, kindGroup, sub.GetGroup().GetName()); err != nil {
			return nil, err
		}
		// Every name, permission and filter is checked before anything is stored.
		topics := make([]string, len(sub.GetSubscriptions()))
		for i, e := range sub.GetSubscriptions() {
			if _, topics[i], err = groupTopic(ctx, sub.GetGroup(), e.GetTopic()); err != nil {
				return nil, err
			}
			if _, err := s.checkSubscription(ctx, topics[i], e.GetExpression()); err != nil {
				return nil, err
			}
		}
		g, err := s.ensureGroup(ctx, group)
		if err != nil {
			return nil, err
		}
		for i, e := range sub.GetSubscriptions() {
			if err := s.ensureSubscription(ctx, group, topics[i], e.GetExpression()); err != nil {
				return nil, err
			}
		}
		c.mu.Lock()
		c.typ = typ
		c.mu.Unlock()
		s.noteSettings(ctx, c, in, topics, group)
		out.BackoffPolicy = retryPolicy(g)
		fifo := g.DeliveryOrder == metadata.OrderOrderly
		batch := int32(32)
		out.PubSub = &v2.Settings_Subscription{Subscription: &v2.Subscription{
			Group: sub.GetGroup(), Subscriptions: sub.GetSubscriptions(), Fifo: &fifo,
			ReceiveBatchSize: &batch, LongPollingTimeout: durationpb.New(s.cfg.LongPolling),
			LiteSubscriptionQuota: ptr(int32(maxLiteSubscriptions)), MaxLiteTopicSize: ptr(int32(127)),
		}}
		return out, nil
	default:
		return nil, status(v2.Code_UNRECOGNIZED_CLIENT_TYPE, "client type %s is not supported", typ)
	}
}

// maxLiteSubscriptions is the number of lite topics a lite consumer is told it may hold.
const maxLiteSubscriptions = 100_000

func ptr[T any](v T) *T { return &v }

// retryPolicy tells a consumer its group's delivery attempts and backoff: push consumers
// wait this long before a failed message is delivered again.
func retryPolicy(g metadata.Group) *v2.RetryPolicy {
	next := make([]*durationpb.Duration, len(g.BackoffSeconds))
	for i, b := range g.BackoffSeconds {
		next[i] = durationpb.New(time.Duration(b) * time.Second)
	}
	return &v2.RetryPolicy{MaxAttempts: int32(g.MaxDeliveryAttempts),
		Strategy: &v2.RetryPolicy_CustomizedBackoff{CustomizedBackoff: &v2.CustomizedBackoff{Next: next}}}
}

// ensureGroup returns a consumer group, creating it (admin.NewGroup) when a client names
// one that does not exist: RocketMQ creates groups on first use too. ORDERLY groups are
// made over HTTP.
func (s *Server) ensureGroup(ctx context.Context, group string) (metadata.Group, error) {
	g, created, err := s.admin.GroupEnsure(ctx, group)
	if err != nil {
		return g, err
	}
	if created {
		s.logger.Info("consumer group created by a gRPC client", "group", group)
	}
	return g, nil
}

// subscriptionTTL is how long a checked subscription is trusted before a receive checks
// it again (another client could have changed the filter).
const subscriptionTTL = 10 * time.Second

// checkSubscription checks that a client may subscribe to topic with filter f, storing
// nothing: the topic exists and the filter is valid for its type. It returns the filter
// as a subscription stores it.
func (s *Server) checkSubscription(ctx context.Context, topic string, f *v2.FilterExpression) (subscriptionFilter, error) {
	typ, expr := clientFilter(f)
	t, err := s.topic(ctx, topic)
	if err != nil {
		return subscriptionFilter{}, err
	}
	typ, expr, err = admin.SubscriptionFilter(t.Type, typ, &expr)
	if err != nil {
		return subscriptionFilter{}, err
	}
	return subscriptionFilter{typ: typ, expr: expr, lite: t.Type == metadata.TopicLite}, nil
}

// subscriptionFilter is a checked client filter.
type subscriptionFilter struct {
	typ, expr string
	lite      bool
}

// ensureSubscription makes the group subscribe to topic with the client's filter, tags or
// SQL92 (RocketMQ clients declare subscriptions; Floe stores them per group). A LITE
// topic's subscription is its set of lite topics, changed by SyncLiteSubscription.
func (s *Server) ensureSubscription(ctx context.Context, group, topic string, f *v2.FilterExpression) error {
	sf, err := s.checkSubscription(ctx, topic, f)
	if err != nil {
		return err
	}
	filter := sf.typ + " " + sf.expr // what the cache compares
	key := [2]string{group, topic}
	if f, ok := s.subs.Lookup(key); ok && f == filter {
		return nil
	}
	if err := s.admin.SubscriptionEnsure(ctx, group, topic, sf.typ, sf.expr, sf.lite); err != nil {
		return err
	}
	s.subs.Put(key, filter)
	return nil
}

// clientFilter reads a client's filter expression: its type (TAG when unspecified) and
// its expression, where an empty TAG expression means every tag, as in RocketMQ.
func clientFilter(f *v2.FilterExpression) (typ, expr string) {
	typ, expr = floefilter.Tag, f.GetExpression()
	if f.GetType() == v2.FilterType_SQL {
		typ = floefilter.SQL92
	}
	if typ == floefilter.Tag && strings.TrimSpace(expr) == "" {
		expr = "*"
	}
	return typ, expr
}
