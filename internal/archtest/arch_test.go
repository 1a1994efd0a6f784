package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A pattern names packages: "x" is the package x, "x/..." is x and every package under it,
// and "floe" stands for this module's path, so "floe/metadata" is Floe's metadata package
// and "floe/..." is all of Floe. Anything else is a full import path ("net/http",
// "github.com/labstack/echo/...").

// rule is one constraint on the import graph. Only non-test imports are checked: tests may
// reach sideways for fixtures (reader's tests produce through ingest, for one).
type rule struct {
	// name says which sentence of docs/architecture.md the rule enforces; failures print it.
	name string
	// pkgs are the packages the rule constrains.
	pkgs []string
	// except removes packages from pkgs.
	except []string
	// deny are packages that pkgs must not depend on, directly or through any chain of
	// imports.
	deny []string
	// denyDirect are packages pkgs must not import themselves but may reach through an
	// allowed dependency: net/http, which the Prometheus client brings to everything.
	denyDirect []string
	// allow are exceptions to deny and denyDirect.
	allow []string
}

// roles are the packages of the role layer: the roles themselves and what serves them at
// the same level (the compactor's scheduler). They sit between the front ends and the
// storage layer, never import one another, and know nothing of HTTP.
var roles = []string{"floe/ingest/...", "floe/reader/...", "floe/compactor/...", "floe/scheduler/...", "floe/admin/..."}

// Third-party packages that mark a layer: Postgres, the HTTP server, the S3 SDK.
const (
	postgres   = "github.com/jackc/pgx/..."
	httpServer = "github.com/labstack/echo/..."
	s3SDK      = "github.com/aws/..."
	// vectorBase64 is the base64 codec with vector instructions that b64 wraps.
	vectorBase64 = "github.com/segmentio/asm/..."
)

var rules = append([]rule{
	{
		name:  "segment (the object format) knows nothing of Postgres, HTTP, object storage or the rest of Floe",
		pkgs:  []string{"floe/segment/..."},
		deny:  []string{"floe/...", postgres, httpServer, s3SDK},
		allow: []string{"floe/segment/..."},
		// Reading and writing bytes needs no network at all.
		denyDirect: []string{"net/http"},
	},
	{
		name:  "objstore knows nothing of Postgres, the HTTP API or the rest of Floe",
		pkgs:  []string{"floe/objstore/..."},
		deny:  []string{"floe/...", postgres, httpServer},
		allow: []string{"floe/objstore/..."},
		// net/http is allowed: the S3 client speaks it.
	},
	{
		name:       "metadata (Postgres) knows nothing of HTTP or object storage; below it only bloom, migrations and namespace",
		pkgs:       []string{"floe/metadata/..."},
		deny:       []string{"floe/...", httpServer, s3SDK},
		denyDirect: []string{"net/http"},
		allow:      []string{"floe/metadata/...", "floe/bloom/...", "floe/migrations/...", "floe/namespace/..."},
	},
	{
		// The gRPC front end and the HTTP one resolve names the same way through it.
		name:  "namespace (tenant names to stored names) imports nothing of Floe",
		pkgs:  []string{"floe/namespace/..."},
		deny:  []string{"floe/..."},
		allow: []string{"floe/namespace/..."},
	},
	{
		name: "the storage layer's helpers (bloom, migrations) never import a role or services",
		pkgs: []string{"floe/bloom/...", "floe/migrations/..."},
		deny: append([]string{"floe/services/..."}, roles...),
	},
	{
		name:  "domain (shared types and typed errors) imports nothing of Floe",
		pkgs:  []string{"floe/domain"},
		deny:  []string{"floe/..."},
		allow: []string{"floe/domain"},
	},
	{
		// Both front ends call the same roles; HTTP lives in httpapi, RocketMQ's gRPC in
		// grpcapi.
		name:       "no role imports net/http or echo: roles are plain Go services",
		pkgs:       roles,
		deny:       []string{httpServer, "floe/httpapi/...", "floe/grpcapi/..."},
		denyDirect: []string{"net/http"},
	},
	{
		// auth is the HTTP front end's authentication (middleware, key routes).
		name:   "only the front ends and services import httpapi and grpcapi",
		pkgs:   []string{"floe/..."},
		except: []string{"floe/services/...", "floe/cmd/...", "floe/httpapi/...", "floe/grpcapi/...", "floe/auth/..."},
		deny:   []string{"floe/httpapi/...", "floe/grpcapi/..."},
	},
	{
		name:   "nothing below services imports services",
		pkgs:   []string{"floe/..."},
		except: []string{"floe/services/...", "floe/cmd/..."},
		deny:   []string{"floe/services/..."},
	},
	{
		name: "the gRPC front end sits on the ingest and reader roles: no compactor, scheduler or services",
		pkgs: []string{"floe/grpcapi/..."},
		deny: []string{"floe/compactor/...", "floe/scheduler/...", "floe/services/..."},
	},
	{
		name:   "no role imports the gRPC front end: it is wired in services",
		pkgs:   []string{"floe/..."},
		except: []string{"floe/services/...", "floe/cmd/...", "floe/grpcapi/..."},
		deny:   []string{"floe/grpcapi/..."},
	},
	{
		name: "the client speaks HTTP only: no server package of Floe, no Postgres, no HTTP server, no S3",
		pkgs: []string{"floe/client/..."},
		deny: []string{"floe/...", postgres, httpServer, s3SDK},
		// jsonwire is the JSON codec the client shares with the server, b64 its base64; they
		// are no server packages (the rules below keep them leaves).
		allow: []string{"floe/client/...", "floe/internal/jsonwire", "floe/internal/b64"},
	},
	{
		name:  "the benchmark drives Floe through the client only",
		pkgs:  []string{"floe/bench/..."},
		deny:  []string{"floe/...", postgres, httpServer, s3SDK},
		allow: []string{"floe/bench/...", "floe/client/...", "floe/internal/jsonwire", "floe/internal/b64"},
	},
	{
		name:  "jsonwire (JSON shared by the client and the server) imports only the standard library and b64",
		pkgs:  []string{"floe/internal/jsonwire"},
		deny:  notStandardLibrary,
		allow: []string{"floe/internal/jsonwire", "floe/internal/b64", vectorBase64, "golang.org/x/sys/cpu"},
	},
	{
		name:  "b64 imports only the standard library and the vector base64 codec",
		pkgs:  []string{"floe/internal/b64"},
		deny:  notStandardLibrary,
		allow: []string{"floe/internal/b64", vectorBase64, "golang.org/x/sys/cpu"},
	},
	{
		// It reads and changes everything through the HTTP API in the browser, with the
		// user's key, so it needs no part of the server.
		name:  "the web console (pages and their script) imports no Floe package and no storage",
		pkgs:  []string{"floe/console"},
		deny:  []string{"floe/...", postgres, s3SDK},
		allow: []string{"floe/console"},
	},
	{
		// The subscription code and the reader both evaluate filters; neither drags the
		// other, or a dependency, into it.
		name:  "sqlfilter (SQL92 subscription filters) imports only the standard library",
		pkgs:  []string{"floe/sqlfilter"},
		deny:  notStandardLibrary,
		allow: []string{"floe/sqlfilter"},
	},
}, rolesNeverImportEachOther()...)

// notStandardLibrary denies everything outside the standard library: Floe, and the hosts
// of every module in go.mod.
var notStandardLibrary = []string{"floe/...", "github.com/...", "golang.org/...", "google.golang.org/...",
	"go.uber.org/...", "go.opencensus.io/...", "contrib.go.opencensus.io/...", "go.yaml.in/..."}

// rolesNeverImportEachOther is one rule per role package: shared logic moves down.
func rolesNeverImportEachOther() []rule {
	var out []rule
	for _, r := range roles {
		var others []string
		for _, o := range roles {
			if o != r {
				others = append(others, o)
			}
		}
		out = append(out, rule{
			name: "ingest, reader and compactor (and the rest of the role layer) never import each other",
			pkgs: []string{r},
			deny: others,
		})
	}
	return out
}

// planned are packages that docs/architecture.md names but that are not written yet: a
// rule may name them before they exist. Every other pattern in a rule's pkgs must match a
// package, so a typo cannot switch a rule off.
var planned = []string{}

// pkg is what `go list -json` says about one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

func TestImportsFollowTheLayers(t *testing.T) {
	root, module := moduleRoot(t)
	graph := goList(t, root, "-e", "-deps", "-json=ImportPath,Imports,Deps,Error", "./...")
	for _, p := range graph {
		if p.Error != nil && strings.HasPrefix(p.ImportPath, module) {
			t.Errorf("go list cannot load %s, so its imports are unchecked: %s", p.ImportPath, p.Error.Err)
		}
	}
	res := check(rules, module, graph)
	for _, pat := range res.unmatched {
		if !slices.Contains(planned, pat) {
			t.Errorf("the rule pattern %q matches no package: a typo, or a package that moved (list it in planned if it is yet to come)", pat)
		}
	}
	for _, v := range res.violations {
		t.Error(v)
	}
	t.Logf("%d rules checked over %d packages of %s", len(rules), res.checked, module)
}

// The checker itself, on a made-up graph: a rule that can never fail proves nothing.
func TestCheckFindsDirectAndIndirectImports(t *testing.T) {
	const mod = "example.com/m"
	graph := []pkg{
		{ImportPath: mod + "/segment", Imports: []string{mod + "/bloom", "bytes"}},
		{ImportPath: mod + "/bloom", Imports: []string{"github.com/jackc/pgx/v5"}},
		{ImportPath: mod + "/metadata", Imports: []string{"github.com/prometheus/client_golang/prometheus", mod + "/bloom"}},
		{ImportPath: mod + "/web", Imports: []string{"net/http"}},
		{ImportPath: "github.com/prometheus/client_golang/prometheus", Imports: []string{"net/http"}},
		{ImportPath: "github.com/jackc/pgx/v5"},
		{ImportPath: "net/http"},
		{ImportPath: "bytes"},
	}
	rs := []rule{
		{name: "segment alone", pkgs: []string{"floe/segment"}, deny: []string{"floe/...", postgres}, allow: []string{"floe/segment/..."}},
		{name: "metadata no http", pkgs: []string{"floe/metadata"}, denyDirect: []string{"net/http"}, deny: []string{postgres}, allow: []string{"github.com/jackc/pgx/v5"}},
		{name: "web no http", pkgs: []string{"floe/web"}, denyDirect: []string{"net/http"}},
		{name: "future", pkgs: []string{"floe/compactor/..."}, deny: []string{"floe/..."}},
	}
	res := check(rs, mod, fillDeps(graph))
	require.Equal(t, []string{"floe/compactor/..."}, res.unmatched)
	require.Len(t, res.violations, 3, "%q", res.violations)
	require.Contains(t, res.violations[0], mod+"/segment imports "+mod+"/bloom")
	require.Contains(t, res.violations[0], `"segment alone"`)
	require.Contains(t, res.violations[1], mod+"/segment → "+mod+"/bloom → github.com/jackc/pgx/v5")
	require.Contains(t, res.violations[2], mod+"/web imports net/http")
	// metadata reaches net/http through Prometheus only, and pgx is allowed to it: no violation.
}

// fillDeps computes Deps from Imports, as `go list -deps` would report them.
func fillDeps(graph []pkg) []pkg {
	byPath := map[string][]string{}
	for _, p := range graph {
		byPath[p.ImportPath] = p.Imports
	}
	for i, p := range graph {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(q string) {
			for _, d := range byPath[q] {
				if !seen[d] {
					seen[d] = true
					walk(d)
				}
			}
		}
		walk(p.ImportPath)
		for d := range seen {
			graph[i].Deps = append(graph[i].Deps, d)
		}
		slices.Sort(graph[i].Deps)
	}
	return graph
}

type result struct {
	violations []string // one line per offending import, in rule and package order
	unmatched  []string // pkgs patterns that matched no package
	checked    int      // packages of the module
}

// check applies rules to the packages of module in graph (which must hold every package's
// dependencies too, as `go list -deps` gives them).
func check(rules []rule, module string, graph []pkg) result {
	var res result
	byPath := map[string]pkg{}
	for _, p := range graph {
		byPath[p.ImportPath] = p
		if inModule(module, p.ImportPath) {
			res.checked++
		}
	}
	for _, r := range rules {
		for _, pat := range r.pkgs {
			found := false
			for _, p := range graph {
				if inModule(module, p.ImportPath) && match(module, pat, p.ImportPath) {
					found = true
					break
				}
			}
			if !found {
				res.unmatched = append(res.unmatched, pat)
			}
		}
		for _, p := range graph {
			if !inModule(module, p.ImportPath) || !matchAny(module, r.pkgs, p.ImportPath) || matchAny(module, r.except, p.ImportPath) {
				continue
			}
			for _, imp := range p.Imports {
				if matchAny(module, r.denyDirect, imp) && !matchAny(module, r.allow, imp) {
					res.violations = append(res.violations, fmt.Sprintf("%s imports %s, against the rule %q", p.ImportPath, imp, r.name))
				}
			}
			for _, dep := range p.Deps {
				if !matchAny(module, r.deny, dep) || matchAny(module, r.allow, dep) {
					continue
				}
				chain := path(byPath, p.ImportPath, dep)
				if len(chain) <= 2 {
					res.violations = append(res.violations, fmt.Sprintf("%s imports %s, against the rule %q", p.ImportPath, dep, r.name))
					continue
				}
				res.violations = append(res.violations, fmt.Sprintf("%s imports %s, which leads to %s (%s), against the rule %q",
					p.ImportPath, chain[1], dep, strings.Join(chain, " → "), r.name))
			}
		}
	}
	return res
}

// path is the shortest import chain from one package to another, both ends included.
func path(byPath map[string]pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := to; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, next := range byPath[cur].Imports {
			if _, ok := prev[next]; !ok {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return []string{from, "…", to}
}

func inModule(module, path string) bool {
	return path == module || strings.HasPrefix(path, module+"/")
}

func matchAny(module string, patterns []string, path string) bool {
	for _, pat := range patterns {
		if match(module, pat, path) {
			return true
		}
	}
	return false
}

// match reports whether path is named by pattern (see the patterns above rule).
func match(module, pattern, path string) bool {
	if pattern == "floe" || strings.HasPrefix(pattern, "floe/") {
		pattern = module + strings.TrimPrefix(pattern, "floe")
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// moduleRoot returns the module's folder and path.
func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err, "go env GOMOD")
	gomod := strings.TrimSpace(string(out))
	require.NotEmpty(t, gomod, "not inside a module")
	root = filepath.Dir(gomod)
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}}")
	cmd.Dir = root
	out, err = cmd.Output()
	require.NoError(t, err, "go list -m")
	return root, strings.TrimSpace(string(out))
}

// goList runs `go list` with args in dir and decodes its stream of JSON objects.
func goList(t *testing.T, dir string, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list %s: %s", strings.Join(args, " "), stderr.String())
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decoding go list output")
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs, "go list found no packages in %s", dir)
	return pkgs
}
