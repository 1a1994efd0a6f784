package grpcapi

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// brokerName names Floe in routes: the clients group queues by broker, and every Floe
// node serves every queue.
const brokerName = "floe"

// topicTTL is how long a topic's type and queue count are cached.
const topicTTL = 5 * time.Second

// topic returns a stored topic, from a short-lived cache.
func (s *Server) topic(ctx context.Context, stored string) (metadata.Topic, error) {
	return s.topics.Get(ctx, stored, func(ctx context.Context) (metadata.Topic, error) {
		t, err := s.store.TopicGet(ctx, stored)
		if errors.Is(err, metadata.ErrNotFound) {
			return t, status(v2.Code_TOPIC_NOT_FOUND, "topic %s does not exist", stored)
		}
		if err != nil {
			return t, internalError(s.logger, "reading a topic", err)
		}
		return t, nil
	})
}

// messageType is the RocketMQ message type a Floe topic type accepts.
func messageType(topicType string) v2.MessageType {
	switch topicType {
	case metadata.TopicFIFO:
		return v2.MessageType_FIFO
	case metadata.TopicDelay:
		return v2.MessageType_DELAY
	case metadata.TopicTransaction:
		return v2.MessageType_TRANSACTION
	case metadata.TopicLite:
		return v2.MessageType_LITE
	case metadata.TopicPriority:
		return v2.MessageType_PRIORITY
	default:
		return v2.MessageType_NORMAL
	}
}

// endpoints are what routes tell clients to dial: the configured address, else the one
// the client used to reach this node.
func (s *Server) endpoints(asked *v2.Endpoints) (*v2.Endpoints, error) {
	if s.cfg.Advertise == "" {
		if len(asked.GetAddresses()) == 0 {
			return nil, status(v2.Code_ILLEGAL_ACCESS_POINT, "the request names no endpoints")
		}
		return asked, nil
	}
	host, port, err := net.SplitHostPort(s.cfg.Advertise)
	if err != nil {
		return nil, status(v2.Code_INTERNAL_SERVER_ERROR, "advertised address %q: %v", s.cfg.Advertise, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, status(v2.Code_INTERNAL_SERVER_ERROR, "advertised port %q: %v", port, err)
	}
	scheme := v2.AddressScheme_DOMAIN_NAME
	if ip := net.ParseIP(host); ip != nil {
		scheme = v2.AddressScheme_IPv4
		if ip.To4() == nil {
			scheme = v2.AddressScheme_IPv6
		}
	}
	return &v2.Endpoints{Scheme: scheme, Addresses: []*v2.Address{{Host: host, Port: int32(p)}}}, nil
}

// QueryRoute lists a topic's queues, all readable and writable on this endpoint.
func (s *Server) QueryRoute(ctx context.Context, req *v2.QueryRouteRequest) (*v2.QueryRouteResponse, error) {
	queues, err := s.queryRoute(ctx, req)
	return &v2.QueryRouteResponse{Status: s.toStatus(err), MessageQueues: queues}, nil
}

func (s *Server) queryRoute(ctx context.Context, req *v2.QueryRouteRequest) ([]*v2.MessageQueue, error) {
	stored, err := resolve(ctx, req.GetTopic(), readTopic)
	if err != nil {
		return nil, err
	}
	// Producers and consumers both ask for routes.
	if allow(ctx, actProduce, kindTopic, req.GetTopic().GetName()) != nil {
		if err := allow(ctx, actRead, kindTopic, req.GetTopic().GetName()); err != nil {
			return nil, err
		}
	}
	t, ep, err := s.topicAt(ctx, stored, req.GetEndpoints())
	if err != nil {
		return nil, err
	}
	n := max(t.Queues, 1)
	out := make([]*v2.MessageQueue, n)
	for i := range out {
		out[i] = messageQueue(req.GetTopic(), int32(i), t, ep)
	}
	return out, nil
}

// topicAt returns a stored topic and the endpoints its queues are served at.
func (s *Server) topicAt(ctx context.Context, stored string, asked *v2.Endpoints) (metadata.Topic, *v2.Endpoints, error) {
	t, err := s.topic(ctx, stored)
	if err != nil {
		return t, nil, err
	}
	ep, err := s.endpoints(asked)
	return t, ep, err
}

// messageQueue is one queue of a route or an assignment: readable and writable on ep.
func messageQueue(topic *v2.Resource, id int32, t metadata.Topic, ep *v2.Endpoints) *v2.MessageQueue {
	return &v2.MessageQueue{Topic: topic, Id: id, Permission: v2.Permission_READ_WRITE,
		Broker: &v2.Broker{Name: brokerName, Id: 0, Endpoints: ep}, AcceptMessageTypes: []v2.MessageType{messageType(t.Type)}}
}

// QueryAssignment gives a push consumer one assignment per topic: Floe hands out
// messages from every queue to every consumer of a group (queue id -1, all queues), so
// consumers never wait on a rebalance.
func (s *Server) QueryAssignment(ctx context.Context, req *v2.QueryAssignmentRequest) (*v2.QueryAssignmentResponse, error) {
	as, err := s.queryAssignment(ctx, req)
	return &v2.QueryAssignmentResponse{Status: s.toStatus(err), Assignments: as}, nil
}

func (s *Server) queryAssignment(ctx context.Context, req *v2.QueryAssignmentRequest) ([]*v2.Assignment, error) {
	if err := s.needReader(); err != nil {
		return nil, err
	}
	_, stored, err := groupTopic(ctx, req.GetGroup(), req.GetTopic())
	if err != nil {
		return nil, err
	}
	t, ep, err := s.topicAt(ctx, stored, req.GetEndpoints())
	if err != nil {
		return nil, err
	}
	return []*v2.Assignment{{MessageQueue: messageQueue(req.GetTopic(), -1, t, ep)}}, nil
}

// Heartbeat keeps a client known. A client this node has no settings of (it restarted, or
// the client moved here) gets UNRECOGNIZED_CLIENT_TYPE, which makes it send them again.
func (s *Server) Heartbeat(ctx context.Context, req *v2.HeartbeatRequest) (*v2.HeartbeatResponse, error) {
	info := infoOf(ctx)
	if info.clientID == "" {
		return &v2.HeartbeatResponse{Status: &v2.Status{Code: v2.Code_CLIENT_ID_REQUIRED, Message: "the x-mq-client-id header is missing"}}, nil
	}
	c := s.clients.get(info.clientID)
	if c == nil {
		return &v2.HeartbeatResponse{Status: &v2.Status{Code: v2.Code_UNRECOGNIZED_CLIENT_TYPE, Message: "unknown client: send settings on the telemetry stream"}}, nil
	}
	c.mu.Lock()
	known := c.typ != v2.ClientType_CLIENT_TYPE_UNSPECIFIED
	c.lastSeen = time.Now()
	c.mu.Unlock()
	if !known {
		return &v2.HeartbeatResponse{Status: &v2.Status{Code: v2.Code_UNRECOGNIZED_CLIENT_TYPE, Message: "unknown client: send settings on the telemetry stream"}}, nil
	}
	s.noteHeartbeat(ctx, c)
	return &v2.HeartbeatResponse{Status: okStatus}, nil
}

// NotifyClientTermination forgets a client that is shutting down.
func (s *Server) NotifyClientTermination(ctx context.Context, req *v2.NotifyClientTerminationRequest) (*v2.NotifyClientTerminationResponse, error) {
	if id := infoOf(ctx).clientID; id != "" {
		s.clients.remove(id)
		s.cfg.Clients.Forget(domain.ProtocolGRPC, id)
	}
	return &v2.NotifyClientTerminationResponse{Status: okStatus}, nil
}
