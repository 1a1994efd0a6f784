// Package auth authenticates and authorizes HTTP API requests: API keys (a secret shown
// once, kept as a SHA-256 hash in Postgres, cached a few seconds in memory), permissions of
// an action on a resource pattern, one table mapping every route to the permissions it
// needs (a route not in the table is denied), and per-key quotas. It also serves the
// /v1/keys routes. docs/security.md describes the model.
package auth

import (
	"fmt"
	"regexp"
	"strings"
)

// Actions a permission grants. Admin implies the others on the same resources.
const (
	ActionProduce = "produce"
	ActionConsume = "consume"
	ActionRead    = "read"
	ActionAdmin   = "admin"
	// ActionMetrics reads /metrics when --metrics-require-auth is on. Its resource is
	// always "*": the metrics are one document about the whole node, every namespace's
	// topics and groups included, so no resource pattern narrows them, and only keys of
	// the default namespace may hold it. It is an action of its own, not read on some
	// resource, so that "read *" does not grant it.
	ActionMetrics = "metrics"
)

// Kinds of resource; a resource is "kind:name", such as "topic:orders".
const (
	KindTopic         = "topic"
	KindGroup         = "group"
	KindProducerGroup = "producer-group"
	KindKey           = "key"
)

// Permission lets a key do Action on every resource Resource matches. Resource is "*"
// (everything), "kind:name" (exactly that), or "kind:prefix*" ("topic:*" is every topic,
// "topic:orders-*" every topic whose name starts with "orders-").
type Permission struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

func (p Permission) String() string { return p.Action + " " + p.Resource }

// namePatternRE is a resource name with an optional trailing wildcard. "%" is allowed so a
// key can be given the system topics (%DLQ%group).
var namePatternRE = regexp.MustCompile(`^[A-Za-z0-9_%-]{0,127}\*?$`)

// Validate reports whether p is well formed.
func (p Permission) Validate() error {
	switch p.Action {
	case ActionProduce, ActionConsume, ActionRead, ActionAdmin:
	case ActionMetrics:
		if p.Resource != "*" {
			return fmt.Errorf("resource %q: the metrics permission covers the whole node, its resource is *", p.Resource)
		}
	default:
		return fmt.Errorf("action %q: want produce, consume, read, admin or metrics", p.Action)
	}
	if p.Resource == "*" {
		return nil
	}
	kind, name, ok := strings.Cut(p.Resource, ":")
	if !ok {
		return fmt.Errorf("resource %q: want kind:name, kind:prefix* or *", p.Resource)
	}
	switch kind {
	case KindTopic, KindGroup, KindProducerGroup, KindKey:
	default:
		return fmt.Errorf("resource %q: kind %q, want topic, group, producer-group or key", p.Resource, kind)
	}
	if name == "" || !namePatternRE.MatchString(name) {
		return fmt.Errorf("resource %q: the name must be 1-127 characters of [A-Za-z0-9_%%-], optionally ending in *", p.Resource)
	}
	return nil
}

// Resource names one resource of a kind.
func Resource(kind, name string) string { return kind + ":" + name }

// matches reports whether pattern covers resource.
func matches(pattern, resource string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(resource, prefix)
	}
	return pattern == resource
}

// grants reports whether a permission's action covers action.
func grants(have, want string) bool { return have == want || have == ActionAdmin }

// Allowed reports whether perms let their holder do action on resource.
func Allowed(perms []Permission, action, resource string) bool {
	for _, p := range perms {
		if grants(p.Action, action) && matches(p.Resource, resource) {
			return true
		}
	}
	return false
}

// AllowedOnAnyOf reports whether perms grant action on at least one resource of kind:
// used where a route names no resource of that kind (committing a transaction by id).
func AllowedOnAnyOf(perms []Permission, action, kind string) bool {
	for _, p := range perms {
		if grants(p.Action, action) && (p.Resource == "*" || strings.HasPrefix(p.Resource, kind+":")) {
			return true
		}
	}
	return false
}
