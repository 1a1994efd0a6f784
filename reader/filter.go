package reader

import (
	"fmt"
	"strings"

	"github.com/floemq/floe/httpapi"
)

// Filter is a parsed tag expression: `*` (everything) or `TagA || TagB`.
type Filter struct {
	all  bool
	tags map[string]bool
}

// ParseFilter parses a subscription's tag expression. Empty means `*`.
func ParseFilter(expr string) (Filter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return Filter{all: true}, nil
	}
	f := Filter{tags: map[string]bool{}}
	for _, part := range strings.Split(expr, "||") {
		tag := strings.TrimSpace(part)
		if !httpapi.ValidName(tag) {
			return Filter{}, fmt.Errorf("filter %q: %q is not a tag (1-127 characters of [A-Za-z0-9_-]); write * or TagA || TagB", expr, tag)
		}
		f.tags[tag] = true
	}
	return f, nil
}

// Match reports whether a message with this tag passes the filter. A message without a tag
// passes only `*`.
func (f Filter) Match(tag string) bool {
	return f.all || f.tags[tag]
}
