// Package filter is a subscription's filter: a tag expression (`*`, `TagA || TagB`) or a
// SQL92 expression over message properties (package sqlfilter), parsed once per
// subscription and matched against every message the group could be handed.
package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/sqlfilter"
)

// Filter types, as stored with a subscription and named in the HTTP API.
const (
	// Tag filters by the message's tag: `*` (every message) or `TagA || TagB`.
	Tag = "TAG"
	// SQL92 filters by a boolean expression over the message's properties; its tag is the
	// property TAGS.
	SQL92 = "SQL92"
)

// Filter is a parsed subscription filter. The zero Filter matches nothing; use Parse.
type Filter struct {
	all  bool
	tags map[string]bool
	sql  *sqlfilter.Filter
}

// Parse parses expr as a filter of type typ (Tag when empty). A tag expression may be
// empty (= `*`). It returns the expression as it should be stored (trimmed; a SQL92
// expression in sqlfilter's canonical form) and an error that says what is wrong.
func Parse(typ, expr string) (Filter, string, error) {
	expr = strings.TrimSpace(expr)
	switch strings.ToUpper(typ) {
	case "", Tag:
		f, err := parseTags(expr)
		if expr == "" {
			expr = "*"
		}
		return f, expr, err
	case SQL92:
		if expr == "" {
			return Filter{}, "", fmt.Errorf("an empty SQL92 filter; write an expression such as region = 'eu' AND amount > 100")
		}
		// The expression is stored as Postgres text, which holds no NUL: refused here, it
		// is a 400 naming the filter instead of a failed write.
		if strings.ContainsRune(expr, 0) || !utf8.ValidString(expr) {
			return Filter{}, "", fmt.Errorf("a SQL92 filter must be UTF-8 text without NUL characters")
		}
		sf, err := sqlfilter.Parse(expr)
		if err != nil {
			return Filter{}, "", err
		}
		return Filter{sql: sf}, sf.String(), nil
	}
	return Filter{}, "", fmt.Errorf("filter type %q: write %s or %s", typ, Tag, SQL92)
}

func parseTags(expr string) (Filter, error) {
	if expr == "" || expr == "*" {
		return Filter{all: true}, nil
	}
	f := Filter{tags: map[string]bool{}}
	for _, part := range strings.Split(expr, "||") {
		tag := strings.TrimSpace(part)
		if !domain.ValidName(tag) {
			return Filter{}, fmt.Errorf("filter %q: %q is not a tag (1-127 characters of [A-Za-z0-9_-]); write * or TagA || TagB", expr, tag)
		}
		f.tags[tag] = true
	}
	return f, nil
}

// Match reports whether a message with this tag and these properties passes the filter. A
// message without a tag passes a tag filter only when it is `*`; a SQL92 filter sees the
// tag as the property TAGS (absent when the message has none).
func (f Filter) Match(tag string, props map[string]string) bool {
	switch {
	case f.all:
		return true
	case f.sql != nil:
		return f.sql.Match(func(name string) (string, bool) {
			if name == "TAGS" {
				return tag, tag != ""
			}
			v, ok := props[name]
			return v, ok
		})
	}
	return f.tags[tag]
}
