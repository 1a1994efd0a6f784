package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// ClientSubscription is what a connected client consumes of one topic.
type ClientSubscription struct {
	Topic      string `json:"topic"`
	FilterType string `json:"filterType,omitempty"`
	Filter     string `json:"filter,omitempty"`
}

// ConnectedClient is a consumer or producer some node saw in the last minute.
type ConnectedClient struct {
	ClientID string `json:"clientId"`
	Address  string `json:"address"`
	// Protocol is HTTP or gRPC.
	Protocol string `json:"protocol"`
	Type     string `json:"type"`
	// Language and Version are a RocketMQ client's SDK; UserAgent an HTTP client's.
	Language      string               `json:"language,omitempty"`
	Version       string               `json:"version,omitempty"`
	UserAgent     string               `json:"userAgent,omitempty"`
	Topics        []string             `json:"topics"`
	Subscriptions []ClientSubscription `json:"subscriptions,omitempty"`
	LastSeen      time.Time            `json:"lastSeen"`
	Nodes         []string             `json:"nodes,omitempty"`
	Delivered     int64                `json:"delivered"`
	Acked         int64                `json:"acked"`
	Nacked        int64                `json:"nacked"`
	Sent          int64                `json:"sent,omitempty"`
	// InFlight is an estimate: handed out, not settled, invisible time not over.
	InFlight int64 `json:"inFlight"`
}

type clientsResponse struct {
	Clients []ConnectedClient `json:"clients"`
}

// GroupClients returns the consumers of a group seen in the last minute, over HTTP and
// gRPC (GET /v1/groups/{group}/clients).
func (c *Client) GroupClients(ctx context.Context, group string) ([]ConnectedClient, error) {
	var r clientsResponse
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "groups", group, "clients"), nil, nil, &r); err != nil {
		return nil, fmt.Errorf("listing the clients of group %s: %w", group, err)
	}
	return r.Clients, nil
}

// TopicProducers returns the RocketMQ producers of a topic seen in the last minute
// (GET /v1/topics/{topic}/producers).
func (c *Client) TopicProducers(ctx context.Context, topic string) ([]ConnectedClient, error) {
	var r clientsResponse
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "topics", topic, "producers"), nil, nil, &r); err != nil {
		return nil, fmt.Errorf("listing the producers of topic %s: %w", topic, err)
	}
	return r.Clients, nil
}
