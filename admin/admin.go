// Package admin holds the management rules that both front ends call: topics, consumer
// groups and their subscriptions, transactions resolved by hand, and the redrive of dead
// letters (Redriver, run on compactor nodes).
package admin

import "github.com/floemq/floe/metadata"

// Service holds the management rules over the metadata store.
type Service struct {
	store    *metadata.Store
	messages Messages
}

// New returns the admin service.
func New(store *metadata.Store) *Service { return &Service{store: store} }

// Limits on topic settings.
const (
	DefaultQueues         = 8
	MaxQueues             = 1024
	DefaultRetentionHours = 72
	MaxRetentionHours     = 24 * 365 * 10
	// MaxLiteTTLMinutes is 30 days.
	MaxLiteTTLMinutes = 30 * 24 * 60
)
