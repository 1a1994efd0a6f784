package grpcapi

import (
	"context"
	"strings"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/peer"

	"github.com/floemq/floe/domain"
	floefilter "github.com/floemq/floe/filter"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/presence"
)

// seenInfo is what a client's settings said, kept for the connected-clients table.
type seenInfo struct {
	id    presence.Identity
	kind  string   // metadata.ClientsOfGroup or metadata.ClientsOfTopic
	names []string // stored group name, or the topics a producer publishes to
}

// peerAddress is the address a call came from.
func peerAddress(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// language names a RocketMQ SDK's language as its settings do ("GOLANG", "JAVA").
func language(l v2.Language) string {
	if l == v2.Language_LANGUAGE_UNSPECIFIED {
		return ""
	}
	return l.String()
}

// noteSettings records a client's settings in the connected-clients table: a consumer
// under its group (stored name) with the filters it declared for topics (stored names),
// a producer under each topic it publishes to.
func (s *Server) noteSettings(ctx context.Context, c *client, in *v2.Settings, topics []string, group string) {
	if s.cfg.Clients == nil {
		return
	}
	ua := in.GetUserAgent()
	id := presence.Identity{Protocol: domain.ProtocolGRPC, ID: c.id, Address: peerAddress(ctx), Type: in.GetClientType().String(),
		Language: language(ua.GetLanguage()), Version: ua.GetVersion()}
	info := seenInfo{id: id}
	if group == "" {
		c.mu.Lock()
		info.kind, info.names = metadata.ClientsOfTopic, append([]string{}, c.topics...)
		c.mu.Unlock()
		for _, t := range info.names {
			s.cfg.Clients.Declare(metadata.ClientsOfTopic, t, id, nil)
		}
	} else {
		info.kind, info.names = metadata.ClientsOfGroup, []string{group}
		subs := make([]domain.ClientSubscription, 0, len(topics))
		for i, e := range in.GetSubscription().GetSubscriptions() {
			typ := floefilter.Tag
			if e.GetExpression().GetType() == v2.FilterType_SQL {
				typ = floefilter.SQL92
			}
			subs = append(subs, domain.ClientSubscription{Topic: topics[i], FilterType: typ, Filter: strings.TrimSpace(e.GetExpression().GetExpression())})
		}
		s.cfg.Clients.Declare(metadata.ClientsOfGroup, group, id, subs)
	}
	c.mu.Lock()
	c.seen = info
	c.mu.Unlock()
}

// clientIdentity is who made a call: the client's id and address, and what its settings
// said when this node has them.
func (s *Server) clientIdentity(ctx context.Context) presence.Identity {
	info := infoOf(ctx)
	id := presence.Identity{Protocol: domain.ProtocolGRPC, ID: info.clientID, Address: peerAddress(ctx)}
	if c := s.clients.get(info.clientID); c != nil {
		c.mu.Lock()
		seen := c.seen.id
		c.mu.Unlock()
		id.Type, id.Language, id.Version = seen.Type, seen.Language, seen.Version
	}
	return id
}

// noteHeartbeat marks a client seen under everything its settings named.
func (s *Server) noteHeartbeat(ctx context.Context, c *client) {
	if s.cfg.Clients == nil {
		return
	}
	c.mu.Lock()
	info := c.seen
	c.mu.Unlock()
	id := info.id
	id.Address = peerAddress(ctx)
	for _, n := range info.names {
		s.cfg.Clients.Touch(info.kind, n, id)
	}
}

// noteSent records n messages a producer sent (the request's messages share one topic).
func (s *Server) noteSent(ctx context.Context, req *v2.SendMessageRequest, n int) {
	if s.cfg.Clients == nil || len(req.GetMessages()) == 0 {
		return
	}
	topic, err := resolve(ctx, req.GetMessages()[0].GetTopic(), userTopic)
	if err != nil {
		return
	}
	s.cfg.Clients.Sent(topic, s.clientIdentity(ctx), n)
}
