package httpapi

import (
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/namespace"
)

// Tenant is the namespace a request's names live in. Every handler resolves the topic,
// group and producer-group names of its path and body with Stored (or Param) before it
// touches the store, and shows stored names with Visible, so that two tenants can both
// have a topic "orders" and never meet. Permissions are checked before, on the names as the
// tenant wrote them (package auth). Lite topic names need no resolving: they live inside a
// topic, which is resolved.
type Tenant struct {
	// Namespace is the caller's namespace; "" is the default one, whose names are stored
	// as they are.
	Namespace string
	// SeesAll lets list routes show the resources of every namespace, under their stored
	// names ("acme%orders"): the operator's view, for a key of the default namespace that
	// is admin on "*", and for every caller when auth is off.
	SeesAll bool
}

const tenantKey = "floe.tenant"

// SetTenant records the caller's tenant on the request; the auth middleware does it for
// every authenticated request.
func SetTenant(c echo.Context, t Tenant) { c.Set(tenantKey, t) }

// TenantOf returns the request's tenant. A request nobody set one on is in the default
// namespace without SeesAll: the narrowest view.
func TenantOf(c echo.Context) Tenant {
	t, _ := c.Get(tenantKey).(Tenant)
	return t
}

// Stored returns the stored name of a topic, group or producer-group name the tenant
// wrote (dead-letter topics too: "%DLQ%billing" of acme is "%DLQ%acme%billing"). The name
// must be valid (CheckName); Resolve checks that too.
func (t Tenant) Stored(name string) string { return namespace.Wrap(t.Namespace, name) }

// Resolve returns the stored name of a name the tenant wrote, or a 400 INVALID_NAME error
// for a name that is no user name (CheckName), so that no name reaches outside the
// tenant's namespace ("acme%orders" written by a key of the default namespace). A "topic"
// may also be a dead-letter topic of the namespace ("%DLQ%billing").
func (t Tenant) Resolve(kind, name string) (string, error) {
	check := domain.CheckName
	if kind == "topic" {
		check = func(_, name string) error { return domain.CheckReadableTopic(name) }
	}
	if err := check(kind, name); err != nil {
		return "", err
	}
	stored := namespace.Wrap(t.Namespace, name)
	if _, ok := namespace.Unwrap(t.Namespace, stored); !ok {
		return "", Errorf(http.StatusBadRequest, CodeInvalidName, "%s %q is not a name of your namespace", kind, name)
	}
	return stored, nil
}

// Param resolves the path parameter p ("topic", "group", "pg") with Resolve.
func (t Tenant) Param(c echo.Context, p string) (string, error) {
	kind := p
	if p == "pg" {
		kind = "producer group"
	}
	return t.Resolve(kind, c.Param(p))
}

// Visible returns the name the tenant sees for a stored name, and false when the name is
// another namespace's (or a system name) that the tenant must not be shown. With SeesAll
// every name is visible as stored.
func (t Tenant) Visible(stored string) (string, bool) {
	if t.SeesAll && t.Namespace == "" {
		return stored, true
	}
	return namespace.Unwrap(t.Namespace, stored)
}

// Show returns the tenant's name for a stored name of a resource the request named (so of
// its own namespace), or "" for a name it may not see.
func (t Tenant) Show(stored string) string {
	name, ok := t.Visible(stored)
	if !ok {
		return ""
	}
	return name
}

// Text rewrites the stored names of the tenant's namespace in a message into the names
// the tenant knows ("topic acme%orders does not exist" → "topic orders does not exist").
// ErrorHandler applies it to every error message, since errors from deep in a role quote
// the stored names they were given.
func (t Tenant) Text(s string) string {
	if t.Namespace == "" {
		return s
	}
	// The namespace's prefix where a name starts: at the start, or after a character that
	// cannot be part of a name ("%DLQ%acme%billing" → "%DLQ%billing").
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(t.Namespace+namespace.Separator))
	return re.ReplaceAllString(s, "${1}")
}

// GroupTopic resolves the path parameters "group" and "topic" of the consumer routes.
func (t Tenant) GroupTopic(c echo.Context) (group, topic string, err error) {
	if group, err = t.Param(c, "group"); err != nil {
		return "", "", err
	}
	if topic, err = t.Param(c, "topic"); err != nil {
		return "", "", err
	}
	return group, topic, nil
}
