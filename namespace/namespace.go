// Package namespace maps names a tenant sees to the names Floe stores, the way RocketMQ
// does: a topic or group "orders" of namespace "acme" is stored as "acme%orders", and the
// dead-letter topic of group "billing" of "acme" is "%DLQ%acme%billing". The default
// namespace ("") maps every name to itself, so single-tenant deployments are unchanged.
// User names cannot contain "%" (domain.ValidName), so two namespaces never share a
// stored name.
package namespace

import (
	"fmt"
	"regexp"
	"strings"
)

// Separator joins a namespace and a name.
const Separator = "%"

// dlqPrefix starts dead-letter topic names (metadata.DLQTopic).
const dlqPrefix = "%DLQ%"

var nsRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports whether ns is a usable namespace: empty (the default one) or 1–64
// characters of [A-Za-z0-9_-].
func Validate(ns string) error {
	if ns == "" || nsRE.MatchString(ns) {
		return nil
	}
	return fmt.Errorf("namespace %q must be 1-64 characters of [A-Za-z0-9_-]", ns)
}

// Wrap returns the stored name of name in namespace ns. System topic names
// (%DLQ%group) keep their prefix in front: Wrap("acme", "%DLQ%billing") is
// "%DLQ%acme%billing".
func Wrap(ns, name string) string {
	if ns == "" {
		return name
	}
	if rest, ok := strings.CutPrefix(name, dlqPrefix); ok {
		return dlqPrefix + ns + Separator + rest
	}
	return ns + Separator + name
}

// Unwrap returns the name a tenant of namespace ns sees for a stored name, and false when
// the stored name is not in ns (a caller must then not show it).
func Unwrap(ns, stored string) (string, bool) {
	if ns == "" {
		return stored, !strings.Contains(strings.TrimPrefix(stored, dlqPrefix), Separator)
	}
	prefix := ns + Separator
	if rest, ok := strings.CutPrefix(stored, dlqPrefix); ok {
		name, ok := strings.CutPrefix(rest, prefix)
		if !ok {
			return "", false
		}
		return dlqPrefix + name, true
	}
	return strings.CutPrefix(stored, prefix)
}

// Of returns the namespace a stored name belongs to: "acme" for "acme%orders" and
// "%DLQ%acme%billing", "" for a name of the default namespace ("orders", "%DLQ%billing")
// and for other system names ("%TRACE%").
func Of(stored string) string {
	rest := strings.TrimPrefix(stored, dlqPrefix)
	if strings.HasPrefix(rest, Separator) {
		return "" // a system name such as %TRACE%
	}
	ns, _, found := strings.Cut(rest, Separator)
	if !found {
		return ""
	}
	return ns
}

// Local returns the name a tenant wrote inside a stored name: "orders" of "acme%orders",
// "%DLQ%billing" of "%DLQ%acme%billing".
func Local(stored string) string {
	name, _ := Unwrap(Of(stored), stored)
	return name
}
