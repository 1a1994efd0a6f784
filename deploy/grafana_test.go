package deploy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Grafana dashboard's tests: it parses, its panels are well formed, and every PromQL
// query names only metrics (and labels) that docs/metrics.md documents as served today.
// docs/metrics.md in turn must name every floe_ metric the code registers.

const (
	dashboardPath  = "grafana/floe-dashboard.json"
	metricsDocPath = "../docs/metrics.md"
)

// metricDoc is one metric as docs/metrics.md documents it.
type metricDoc struct {
	typ     string // counter, gauge, histogram, summary; "—" for a planned family
	labels  []string
	planned bool
}

// metricsDoc maps metric names to their documentation. A planned entry may end in * to
// stand for a family (floe_compactor_*).
type metricsDoc map[string]metricDoc

var (
	// | `floe_x_total` | counter | `a`, `b` | meaning |
	metricRowRE = regexp.MustCompile("^\\|\\s*`((?:floe|go|process|promhttp)_[a-z0-9_:]*\\*?)`\\s*\\|\\s*([a-z]+|—)\\s*\\|([^|]*)\\|")
	backticked  = regexp.MustCompile("`([^`]+)`")
)

func loadMetricsDoc(t *testing.T) metricsDoc {
	t.Helper()
	raw, err := os.ReadFile(metricsDocPath)
	require.NoError(t, err)
	doc := metricsDoc{}
	planned := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "## ") {
			planned = strings.HasPrefix(line, "## Planned")
			continue
		}
		m := metricRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, typ := m[1], m[2]
		require.Contains(t, []string{"counter", "gauge", "histogram", "summary", "—"}, typ, "%s: unknown type %q", name, typ)
		require.False(t, !planned && (typ == "—" || strings.HasSuffix(name, "*")), "%s: a served metric needs a type and an exact name", name)
		require.NotContains(t, doc, name, "%s is documented twice", name)
		var labels []string
		for _, l := range backticked.FindAllStringSubmatch(m[3], -1) {
			labels = append(labels, l[1])
		}
		doc[name] = metricDoc{typ: typ, labels: labels, planned: planned}
	}
	require.NotEmpty(t, doc, "no metric tables found in %s", metricsDocPath)
	return doc
}

// lookup finds a series name: a documented metric, or a histogram's _bucket, _sum or _count
// series (summaries: _sum, _count). It also matches planned families (name*).
func (d metricsDoc) lookup(series string) (base string, m metricDoc, ok bool) {
	if m, ok := d[series]; ok {
		return series, m, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		b, found := strings.CutSuffix(series, suffix)
		if !found {
			continue
		}
		if m, ok := d[b]; ok && (m.typ == "histogram" || (m.typ == "summary" && suffix != "_bucket")) {
			return b, m, true
		}
	}
	for name, m := range d {
		if prefix, glob := strings.CutSuffix(name, "*"); glob && strings.HasPrefix(series, prefix) {
			return name, m, true
		}
	}
	return "", metricDoc{}, false
}

// promSelector is a metric named in a PromQL expression, with the labels it matches on.
type promSelector struct {
	name   string
	labels []string
}

// promQuery is what the tests need of a PromQL expression: the metrics it selects and the
// labels it groups or matches by.
type promQuery struct {
	selectors []promSelector
	grouping  []string
}

var (
	promAggregations = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
	promGrouping = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	promKeywords = []string{"and", "or", "unless", "bool", "atan2", "inf", "nan", "offset", "start", "end"}
)

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// parsePromQL extracts metric names, their label matchers and grouping labels from a PromQL
// expression. It is a scanner, not a full parser: enough for dashboards, and strict where
// it matters (every selector must name its metric).
func parsePromQL(expr string) (promQuery, error) {
	var q promQuery
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	ident := func() string {
		start := i
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		return s[start:i]
	}
	skipString := func() error {
		quote := s[i]
		i++
		for i < len(s) && s[i] != quote {
			if s[i] == '\\' && quote != '`' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return fmt.Errorf("unterminated string in %q", expr)
		}
		i++
		return nil
	}
	skipTo := func(close byte) error {
		j := strings.IndexByte(s[i:], close)
		if j < 0 {
			return fmt.Errorf("no %q in %q", close, expr)
		}
		i += j + 1
		return nil
	}
	labelList := func() ([]string, error) {
		skipSpace()
		if i >= len(s) || s[i] != '(' {
			return nil, fmt.Errorf("want a label list at %d of %q", i, expr)
		}
		start := i + 1
		if err := skipTo(')'); err != nil {
			return nil, err
		}
		var out []string
		for _, l := range strings.Split(s[start:i-1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out, nil
	}
	matchers := func() ([]string, error) {
		i++ // {
		var out []string
		for {
			skipSpace()
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated selector in %q", expr)
			}
			if s[i] == '}' {
				i++
				return out, nil
			}
			name := ident()
			if name == "" {
				return nil, fmt.Errorf("want a label name at %d of %q", i, expr)
			}
			out = append(out, name)
			skipSpace()
			for i < len(s) && strings.IndexByte("=!~", s[i]) >= 0 {
				i++
			}
			skipSpace()
			if i >= len(s) || strings.IndexByte("\"'`", s[i]) < 0 {
				return nil, fmt.Errorf("want a quoted label value at %d of %q", i, expr)
			}
			if err := skipString(); err != nil {
				return nil, err
			}
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(); err != nil {
				return q, err
			}
		case c == '[': // range or subquery: durations and Grafana intervals
			if err := skipTo(']'); err != nil {
				return q, err
			}
		case c == '$': // Grafana variable: $name or ${name}
			i++
			if i < len(s) && s[i] == '{' {
				if err := skipTo('}'); err != nil {
					return q, err
				}
			} else {
				ident()
			}
		case c == '{':
			return q, fmt.Errorf("selector without a metric name at %d of %q", i, expr)
		case c >= '0' && c <= '9', c == '.':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.' || ((s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E'))) {
				i++
			}
		case isIdentStart(c):
			name := ident()
			skipSpace()
			switch {
			case slices.Contains(promGrouping, name):
				labels, err := labelList()
				if err != nil {
					return q, err
				}
				q.grouping = append(q.grouping, labels...)
			case name == "offset":
				ident() // the duration; a leading digit makes it one token
				for i < len(s) && isIdentChar(s[i]) {
					i++
				}
			case slices.Contains(promKeywords, strings.ToLower(name)), slices.Contains(promAggregations, name):
			case i < len(s) && s[i] == '(': // a function
			default:
				sel := promSelector{name: name}
				if i < len(s) && s[i] == '{' {
					labels, err := matchers()
					if err != nil {
						return q, err
					}
					sel.labels = labels
				}
				q.selectors = append(q.selectors, sel)
			}
		default:
			i++
		}
	}
	return q, nil
}

func TestParsePromQL(t *testing.T) {
	for _, tt := range []struct {
		expr      string
		selectors []promSelector
		grouping  []string
	}{
		{`sum(rate(floe_a_total[$__rate_interval]))`, []promSelector{{name: "floe_a_total"}}, nil},
		{`histogram_quantile(0.99, sum by (operation, le) (rate(floe_b_seconds_bucket{operation=~"get|put", x!="}"}[5m])))`,
			[]promSelector{{name: "floe_b_seconds_bucket", labels: []string{"operation", "x"}}}, []string{"operation", "le"}},
		{`sum(increase(a[$__range])) * $price / 1e3 / (sum without (instance) (b offset 1h) > bool 0.5)`,
			[]promSelector{{name: "a"}, {name: "b"}}, []string{"instance"}},
		{`max by (group) (x) / on (group) group_left (topic) y{z='1'}`,
			[]promSelector{{name: "x"}, {name: "y", labels: []string{"z"}}}, []string{"group", "group", "topic"}},
		{`sum(rate(c_total[${__rate_interval}])) and d unless e`, []promSelector{{name: "c_total"}, {name: "d"}, {name: "e"}}, nil},
	} {
		q, err := parsePromQL(tt.expr)
		require.NoError(t, err, tt.expr)
		require.Equal(t, tt.selectors, q.selectors, tt.expr)
		require.Equal(t, tt.grouping, q.grouping, tt.expr)
	}
	for _, bad := range []string{`{__name__="x"}`, `sum(x{a="b")`, `x{a=b}`} {
		_, err := parsePromQL(bad)
		require.Error(t, err, bad)
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []dashPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *dashDatasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource *dashDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // a collapsed row's panels
}

type dashDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d), "%s is not valid JSON", dashboardPath)
	return d
}

// allPanels lists every panel, those inside collapsed rows included.
func (d dashboard) allPanels() []dashPanel {
	var out []dashPanel
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func TestDashboardWellFormed(t *testing.T) {
	d := loadDashboard(t)
	require.NotEmpty(t, d.UID)
	require.NotEmpty(t, d.Title)
	require.GreaterOrEqual(t, d.SchemaVersion, 38)

	dsVar := ""
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = v.Name
		}
	}
	require.NotEmpty(t, dsVar, "no Prometheus datasource variable")
	dsRef := "${" + dsVar + "}"

	ids := map[int]string{}
	queries := 0
	for _, p := range d.allPanels() {
		require.NotZero(t, p.ID, "panel %q has no id", p.Title)
		require.NotContains(t, ids, p.ID, "panel id %d used by %q and %q", p.ID, ids[p.ID], p.Title)
		ids[p.ID] = p.Title
		require.NotEmpty(t, p.Title, "panel %d has no title", p.ID)
		g := p.GridPos
		require.True(t, g.W > 0 && g.H > 0 && g.X >= 0 && g.Y >= 0 && g.X+g.W <= 24, "panel %q: bad gridPos %+v", p.Title, g)
		if p.Type == "row" {
			require.Empty(t, p.Targets, "row %q has queries", p.Title)
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no queries", p.Title)
		require.NotNil(t, p.Datasource, "panel %q has no datasource", p.Title)
		require.Equal(t, dsRef, p.Datasource.UID, "panel %q must use the datasource variable", p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q: empty query", p.Title)
			require.False(t, refs[tg.RefID], "panel %q: refId %q twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			if tg.Datasource != nil {
				require.Equal(t, dsRef, tg.Datasource.UID, "panel %q: a query must use the datasource variable", p.Title)
			}
			queries++
		}
	}
	require.NotZero(t, queries)
}

// TestDashboardRows checks the dashboard has the rows operators look for.
func TestDashboardRows(t *testing.T) {
	d := loadDashboard(t)
	var rows []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, strings.ToLower(p.Title))
		}
	}
	for _, want := range []string{"produce", "object store", "postgres", "reader", "cost"} {
		require.True(t, slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, want) }),
			"no row titled %q among %q", want, rows)
	}
}

// scrapeLabels are added by Prometheus, not by Floe.
var scrapeLabels = []string{"job", "instance"}

func TestDashboardQueriesDocumentedMetrics(t *testing.T) {
	d := loadDashboard(t)
	doc := loadMetricsDoc(t)
	charted := map[string]bool{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			q, err := parsePromQL(tg.Expr)
			require.NoError(t, err, "panel %q", p.Title)
			require.NotEmpty(t, q.selectors, "panel %q: %s names no metric", p.Title, tg.Expr)
			known := slices.Clone(scrapeLabels)
			for _, sel := range q.selectors {
				base, m, ok := doc.lookup(sel.name)
				require.True(t, ok, "panel %q queries %s, which docs/metrics.md does not document", p.Title, sel.name)
				require.False(t, m.planned, "panel %q queries %s, which docs/metrics.md lists as planned, not served", p.Title, sel.name)
				labels := append(slices.Clone(m.labels), scrapeLabels...)
				if strings.HasSuffix(sel.name, "_bucket") {
					labels = append(labels, "le")
				}
				for _, l := range sel.labels {
					require.Contains(t, labels, l, "panel %q: %s has no label %s (docs/metrics.md)", p.Title, sel.name, l)
				}
				known = append(known, labels...)
				charted[base] = true
			}
			for _, l := range q.grouping {
				require.Contains(t, known, l, "panel %q groups by %s, a label none of its metrics has", p.Title, l)
			}
		}
	}
	// The other way round: every floe_ metric served today is on the dashboard.
	for name, m := range doc {
		if strings.HasPrefix(name, "floe_") && !m.planned {
			require.True(t, charted[name], "docs/metrics.md documents %s, but no dashboard panel charts it", name)
		}
	}
}

// metricNameInCode finds floe_ metric names in Go source: in *Opts{Name: "…"} and in
// prometheus.NewDesc("…").
var metricNameInCode = regexp.MustCompile(`(?:Name:\s*|NewDesc\(\s*)"(floe_[a-z0-9_]+)"`)

// TestMetricsDocCoversCode checks that docs/metrics.md names every floe_ metric the code
// defines (served, or in its planned section).
func TestMetricsDocCoversCode(t *testing.T) {
	doc := loadMetricsDoc(t)
	found := map[string]string{}
	err := filepath.WalkDir("..", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != ".." && (strings.HasPrefix(e.Name(), ".") || e.Name() == "vendor" || e.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricNameInCode.FindAllStringSubmatch(string(src), -1) {
			found[m[1]] = path
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, found, "floe_ingest_messages_total", "the scan of the source tree found nothing")
	for name, path := range found {
		_, _, ok := doc.lookup(name)
		require.True(t, ok, "%s (defined in %s) is not in docs/metrics.md", name, path)
	}
}
