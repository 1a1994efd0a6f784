package domain

import "time"

// Client protocols.
const (
	ProtocolHTTP = "HTTP"
	ProtocolGRPC = "gRPC"
)

// ClientSubscription is what a client consumes of one topic: the filter a RocketMQ client
// declared in its settings, or for an HTTP client the group's subscription.
type ClientSubscription struct {
	Topic      string `json:"topic"`
	FilterType string `json:"filterType,omitempty"`
	Filter     string `json:"filter,omitempty"`
}

// ConnectedClient is a consumer or producer a node saw recently. Nodes publish these
// (the counters are since the node first saw the client) and any node merges them.
type ConnectedClient struct {
	// ClientID is the RocketMQ client id, the X-Floe-Client-Id header of an HTTP client,
	// or for an HTTP client without it "ADDRESS/HASH" (a hash of its User-Agent).
	ClientID string `json:"clientId"`
	Address  string `json:"address"`
	// Protocol is HTTP or gRPC.
	Protocol string `json:"protocol"`
	// Type is the RocketMQ client type (PRODUCER, PUSH_CONSUMER, SIMPLE_CONSUMER, ...), or
	// CONSUMER / PRODUCER for an HTTP client.
	Type string `json:"type"`
	// Language and Version are what a RocketMQ client's settings say of its SDK.
	Language  string `json:"language,omitempty"`
	Version   string `json:"version,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	// Topics are the topics the client consumed from or sent to.
	Topics        []string             `json:"topics"`
	Subscriptions []ClientSubscription `json:"subscriptions,omitempty"`
	LastSeen      time.Time            `json:"lastSeen"`
	// Nodes are the nodes that saw the client.
	Nodes []string `json:"nodes,omitempty"`
	// Delivered, Acked and Nacked count messages handed to and settled by a consumer;
	// Sent counts messages a producer sent.
	Delivered int64 `json:"delivered"`
	Acked     int64 `json:"acked"`
	Nacked    int64 `json:"nacked"`
	Sent      int64 `json:"sent,omitempty"`
	// InFlight is an estimate of the messages handed to the client that it has neither
	// acked nor nacked and whose invisible time has not run out.
	InFlight int64 `json:"inFlight"`
}
