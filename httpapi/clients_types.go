package httpapi

import "github.com/floemq/floe/domain"

// Client protocols.
const (
	ProtocolHTTP = domain.ProtocolHTTP
	ProtocolGRPC = domain.ProtocolGRPC
)

// ClientIDHeader names an HTTP client in the connected-clients lists. Without it an HTTP
// client is known by its address and User-Agent.
const ClientIDHeader = "X-Floe-Client-Id"

// ClientSubscription is what a client consumes of one topic.
type ClientSubscription = domain.ClientSubscription

// ConnectedClient is a consumer or producer a node saw recently.
type ConnectedClient = domain.ConnectedClient

// ClientsResponse lists the consumers of a group (GET /v1/groups/{group}/clients) or the
// producers of a topic (GET /v1/topics/{topic}/producers) seen in the last minute.
type ClientsResponse struct {
	Group   string            `json:"group,omitempty"`
	Topic   string            `json:"topic,omitempty"`
	Clients []ConnectedClient `json:"clients"`
}
