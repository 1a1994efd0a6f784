package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/reader"
	"github.com/floemq/floe/trace"
)

// registeredRoutes is every route the server registers today, written by hand from the
// Register functions (and services/node.go). Paths use echo's :param syntax. When a route is
// added, add it here and to openapi.json; when a planned route is built, move it here and
// drop its x-floe-status: planned.
var registeredRoutes = []struct{ method, path, source string }{
	// RegisterAdmin
	{"POST", "/v1/topics", "admin"},
	{"GET", "/v1/topics", "admin"},
	{"GET", "/v1/topics/:topic", "admin"},
	{"DELETE", "/v1/topics/:topic", "admin"},
	{"GET", "/v1/topics/:topic/queues", "admin"},
	{"GET", "/v1/groups/:group/clients", "admin"},
	{"GET", "/v1/topics/:topic/producers", "admin"},
	// adminRoutes.registerGroups
	{"POST", "/v1/groups", "admin"},
	{"GET", "/v1/groups", "admin"},
	{"GET", "/v1/groups/:group", "admin"},
	{"DELETE", "/v1/groups/:group", "admin"},
	{"PUT", "/v1/groups/:group/subscriptions/:topic", "admin"},
	{"PATCH", "/v1/groups/:group/subscriptions/:topic", "admin"},
	{"DELETE", "/v1/groups/:group/subscriptions/:topic", "admin"},
	// RegisterIngest
	{"POST", "/v1/topics/:topic/messages", "ingest"},
	{"POST", "/v1/topics/:topic/messages/recall", "ingest"},
	{"POST", "/v1/topics/:topic/transactions", "ingest"},
	{"GET", "/v1/transactions/:id", "ingest"},
	{"POST", "/v1/transactions/:id/commit", "ingest"},
	{"POST", "/v1/transactions/:id/rollback", "ingest"},
	{"GET", "/v1/producer-groups/:pg/transaction-checks", "ingest"},
	// RegisterReader
	{"GET", "/v1/topics/:topic/queues/:queue/messages", "reader"},
	{"GET", "/v1/topics/:topic/messages/:id", "reader"},
	{"GET", "/v1/topics/:topic/messages/:id/trace", "reader"},
	{"GET", "/v1/topics/:topic/messages", "reader"},
	// RegisterConsume
	{"POST", "/v1/groups/:group/topics/:topic/receive", "reader"},
	{"POST", "/v1/groups/:group/topics/:topic/ack", "reader"},
	{"POST", "/v1/groups/:group/topics/:topic/nack", "reader"},
	{"POST", "/v1/groups/:group/topics/:topic/change-invisible", "reader"},
	{"POST", "/v1/groups/:group/topics/:topic/change-invisible-batch", "reader"},
	{"POST", "/v1/groups/:group/topics/:topic/reset", "reader"},
	{"GET", "/v1/groups/:group/lag", "reader"},
	{"GET", "/v1/groups/:group/lag/history", "reader"},
	// adminRoutes.registerOperate and registerRedrive
	{"PATCH", "/v1/topics/:topic", "admin"},
	{"PATCH", "/v1/groups/:group", "admin"},
	{"PUT", "/v1/groups/:group/topics/:topic/queues/:queue/offset", "admin"},
	{"POST", "/v1/groups/:group/skip-backlog", "admin"},
	{"POST", "/v1/groups/:group/copy-offsets/:from", "admin"},
	{"POST", "/v1/groups/:group/dead-letters/redrive", "admin"},
	{"GET", "/v1/groups/:group/dead-letters/redrive", "admin"},
	{"GET", "/v1/groups/:group/dead-letters/redrive/:task", "admin"},
	{"POST", "/v1/groups/:group/dead-letters/redrive/:task/cancel", "admin"},
	{"POST", "/v1/groups/:group/topics/:topic/messages/:id/resend", "admin"},
	// RegisterReaderOperate
	{"GET", "/v1/topics/:topic/browse", "reader"},
	{"GET", "/v1/topics/:topic/offsets", "reader"},
	// services.StartNode
	{"GET", "/healthz", "services"},
	{"GET", "/readyz", "services"},
	{"GET", "/metrics", "services"},
	{"GET", "/v1/openapi.json", "services"}, // serves httpapi.OpenAPI()
	{"GET", "/docs", "services"},            // httpapi.RegisterDocs
	{"GET", "/docs/:file", "services"},
	// auth.Service.Register
	{"POST", "/v1/keys", "auth"},
	{"GET", "/v1/keys", "auth"},
	{"DELETE", "/v1/keys/:id", "auth"},
	{"POST", "/v1/keys/:id/rotate", "auth"},
}

// plannedRoutes are in the contract (docs/http-api.md) but not served yet: the document
// must describe them, marked x-floe-status: planned. Every route of the contract is served
// today.
var plannedRoutes = []struct{ method, path string }{}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type doc = map[string]any

func loadOpenAPI(t *testing.T) doc {
	t.Helper()
	var d doc
	require.NoError(t, json.Unmarshal(httpapi.OpenAPI(), &d), "openapi.json is not valid JSON")
	return d
}

func obj(t *testing.T, v any, what string) doc {
	t.Helper()
	m, ok := v.(map[string]any)
	require.Truef(t, ok, "%s: want an object, got %T", what, v)
	return m
}

// resolve follows a local reference (#/a/b) to the value it names, or fails.
func resolve(d doc, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("%q is not a local reference", ref)
	}
	var cur any = d
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref follows $ref chains.
func deref(t *testing.T, d doc, v any) doc {
	t.Helper()
	m := obj(t, v, "schema")
	for i := 0; ; i++ {
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		require.Less(t, i, 16, "reference loop at %s", r)
		target, err := resolve(d, r)
		require.NoError(t, err)
		m = obj(t, target, r)
	}
}

// operations calls fn for every operation of the document.
func operations(t *testing.T, d doc, fn func(path, method string, item, op doc)) {
	t.Helper()
	paths := obj(t, d["paths"], "paths")
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := obj(t, paths[path], path)
		for _, m := range httpMethods {
			if o, ok := item[m]; ok {
				fn(path, strings.ToUpper(m), item, obj(t, o, m+" "+path))
			}
		}
	}
}

var (
	echoParam    = regexp.MustCompile(`:[A-Za-z0-9_]+`)
	openAPIParam = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)
)

// routeKey names a route independently of how its parameters are spelled.
func routeKey(method, path string) string {
	path = echoParam.ReplaceAllString(path, "{}")
	return method + " " + openAPIParam.ReplaceAllString(path, "{}")
}

func isPlanned(op doc) bool { return op["x-floe-status"] == "planned" }

func TestOpenAPIIsVersion31(t *testing.T) {
	d := loadOpenAPI(t)
	version, _ := d["openapi"].(string)
	require.True(t, strings.HasPrefix(version, "3.1."), "openapi = %q, want 3.1.x", version)
	info := obj(t, d["info"], "info")
	require.NotEmpty(t, info["title"])
	require.NotEmpty(t, info["version"])
	require.NotEmpty(t, d["paths"])
}

func TestOpenAPIOperations(t *testing.T) {
	d := loadOpenAPI(t)
	ids := map[string]string{}
	operations(t, d, func(path, method string, item, op doc) {
		where := method + " " + path
		id, _ := op["operationId"].(string)
		require.NotEmpty(t, id, "%s: no operationId", where)
		require.NotContains(t, ids, id, "%s: operationId %s already used by %s", where, id, ids[id])
		ids[id] = where
		require.NotEmpty(t, op["summary"], "%s: no summary", where)

		responses := obj(t, op["responses"], where+" responses")
		require.NotEmpty(t, responses, "%s: no responses", where)
		success := false
		for status, r := range responses {
			r := deref(t, d, r)
			require.NotEmpty(t, r["description"], "%s %s: no description", where, status)
			require.True(t, status == "default" || regexp.MustCompile(`^[1-5][0-9X]{2}$`).MatchString(status), "%s: bad status %q", where, status)
			if strings.HasPrefix(status, "2") {
				success = true
			}
		}
		require.True(t, success, "%s: no 2xx response", where)

		// Path parameters: declared (on the path or the operation) exactly for the template's names.
		declared := map[string]bool{}
		for _, list := range []any{item["parameters"], op["parameters"]} {
			ps, _ := list.([]any)
			for _, p := range ps {
				p := deref(t, d, p)
				if p["in"] == "path" {
					require.Equal(t, true, p["required"], "%s: path parameter %v must be required", where, p["name"])
					declared[p["name"].(string)] = true
				}
			}
		}
		var inTemplate []string
		for _, m := range openAPIParam.FindAllString(path, -1) {
			name := strings.Trim(m, "{}")
			inTemplate = append(inTemplate, name)
			require.True(t, declared[name], "%s: path parameter %s is not declared", where, name)
		}
		for name := range declared {
			require.Contains(t, inTemplate, name, "%s: parameter %s is not in the path", where, name)
		}
	})
}

func TestOpenAPIRefsResolve(t *testing.T) {
	d := loadOpenAPI(t)
	used := map[string]bool{}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"]; ok {
				s, isString := r.(string)
				require.True(t, isString, "%s: $ref is not a string", at)
				_, err := resolve(d, s)
				require.NoError(t, err, "at %s", at)
				used[s] = true
			}
			for k, e := range v {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d, "#")
	require.NotEmpty(t, used)
	// Security schemes are referenced by name in security requirements, not by $ref.
	var requirements []any
	if top, ok := d["security"].([]any); ok {
		requirements = append(requirements, top...)
	}
	operations(t, d, func(_, _ string, _, op doc) {
		if sec, ok := op["security"].([]any); ok {
			requirements = append(requirements, sec...)
		}
	})
	for _, r := range requirements {
		for name := range obj(t, r, "security requirement") {
			_, err := resolve(d, "#/components/securitySchemes/"+name)
			require.NoError(t, err, "security requirement %s", name)
			used["#/components/securitySchemes/"+name] = true
		}
	}
	// Every component is used: a leftover schema is a sign that the document drifted.
	components := obj(t, d["components"], "components")
	for kind, group := range components {
		for name := range obj(t, group, kind) {
			require.True(t, used["#/components/"+kind+"/"+name], "components/%s/%s is never referenced", kind, name)
		}
	}
}

func TestOpenAPIDescribesRegisteredRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	documented := map[string]doc{}
	operations(t, d, func(path, method string, _, op doc) { documented[routeKey(method, path)] = op })

	served := map[string]bool{}
	for _, r := range registeredRoutes {
		key := routeKey(r.method, r.path)
		require.False(t, served[key], "%s listed twice", key)
		served[key] = true
		op, ok := documented[key]
		require.True(t, ok, "%s %s (registered by %s) is not in openapi.json", r.method, r.path, r.source)
		require.False(t, isPlanned(op), "%s %s is served, but openapi.json marks it planned", r.method, r.path)
	}
	for _, r := range plannedRoutes {
		key := routeKey(r.method, r.path)
		require.False(t, served[key], "%s is both served and planned", key)
		op, ok := documented[key]
		require.True(t, ok, "planned route %s %s is not in openapi.json", r.method, r.path)
		require.True(t, isPlanned(op), "%s %s is not served yet: mark it x-floe-status: planned", r.method, r.path)
	}
	// The other way round: the document promises nothing that is not served or planned.
	for key, op := range documented {
		if isPlanned(op) {
			continue
		}
		require.True(t, served[key], "openapi.json describes %s, which no Register function serves; add it to registeredRoutes or mark it planned", key)
	}
}

// TestOpenAPIRoles: every operation says which role serves it (x-floe-role), and it is
// the role that registers it; gateways route by it.
func TestOpenAPIRoles(t *testing.T) {
	routes, err := httpapi.Routes()
	require.NoError(t, err)
	roles := map[string]string{}
	for _, r := range routes {
		roles[routeKey(r.Method, r.Path)] = r.Role
	}
	for _, r := range registeredRoutes {
		want := "any"
		if r.source == "ingest" || r.source == "reader" {
			want = r.source
		}
		require.Equal(t, want, roles[routeKey(r.method, r.path)], "x-floe-role of %s %s", r.method, r.path)
	}
}

// TestOpenAPIErrors checks the error shape and that every error response uses it with codes
// of the right status.
func TestOpenAPIErrors(t *testing.T) {
	d := loadOpenAPI(t)
	errSchema := deref(t, d, map[string]any{"$ref": "#/components/schemas/Error"})
	require.Equal(t, []any{"error"}, errSchema["required"])
	inner := obj(t, obj(t, errSchema["properties"], "Error.properties")["error"], "Error.error")
	require.ElementsMatch(t, []any{"code", "message"}, inner["required"])
	for _, f := range []string{"code", "message"} {
		require.Equal(t, "string", obj(t, obj(t, inner["properties"], "properties")[f], f)["type"])
	}

	codes := obj(t, d["x-floe-error-codes"], "x-floe-error-codes")
	for _, c := range []string{httpapi.CodeBadRequest, httpapi.CodeInvalidName, httpapi.CodeMalformedJSON,
		httpapi.CodeTopicNotFound, httpapi.CodeQueueNotFound, httpapi.CodeMessageNotFound, httpapi.CodeTopicExists,
		httpapi.CodeMessageTypeMismatch, httpapi.CodeTooLarge, httpapi.CodeBodyTooLarge, httpapi.CodeThrottled,
		httpapi.CodeUnavailable, httpapi.CodeNotFound, httpapi.CodeMethodNotAllowed, httpapi.CodeInternal, httpapi.CodeQuotaExceeded,
		httpapi.CodeInvalidRecallHandle, httpapi.CodeTooLate, httpapi.CodeRequestTimeout} {
		require.Contains(t, codes, c, "x-floe-error-codes lacks %s", c)
	}

	operations(t, d, func(path, method string, _, op doc) {
		for status, r := range obj(t, op["responses"], "responses") {
			if status != "default" && status < "400" {
				continue
			}
			if path == "/readyz" && status == "503" {
				continue // the readiness report, not an error
			}
			r := deref(t, d, r)
			media := obj(t, obj(t, r["content"], method+" "+path+" "+status)["application/json"], "application/json")
			require.Equal(t, "#/components/schemas/Error", obj(t, media["schema"], "schema")["$ref"], "%s %s %s", method, path, status)
			examples := obj(t, media["examples"], method+" "+path+" "+status+" examples")
			require.NotEmpty(t, examples, "%s %s %s: name the error codes as examples", method, path, status)
			for code, ex := range examples {
				want, ok := codes[code]
				require.True(t, ok, "%s %s %s: code %s is not in x-floe-error-codes", method, path, status, code)
				if status != "default" {
					require.Equal(t, status, fmt.Sprint(want), "%s %s: code %s has status %v", method, path, code, want)
				}
				value := obj(t, obj(t, ex, code)["value"], code)
				require.Equal(t, code, obj(t, value["error"], code)["code"])
			}
		}
	})
}

// TestOpenAPIErrorShapeMatchesHandler renders an error with the real handler and checks it
// against the Error schema's fields.
func TestOpenAPIErrorShapeMatchesHandler(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.GET("/x", func(echo.Context) error {
		return httpapi.Errorf(http.StatusNotFound, httpapi.CodeTopicNotFound, "topic x does not exist")
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	var got map[string]map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Equal(t, []string{"error"}, slices.Sorted(maps.Keys(got)))
	require.Equal(t, map[string]any{"code": "TOPIC_NOT_FOUND", "message": "topic x does not exist"}, got["error"])
}

// schemaOf returns a schema's properties and required names, merging allOf.
func schemaOf(t *testing.T, d doc, s any) (props map[string]any, required []string, typ string) {
	t.Helper()
	m := deref(t, d, s)
	props = map[string]any{}
	if ps, ok := m["properties"].(map[string]any); ok {
		for k, v := range ps {
			props[k] = v
		}
	}
	for _, r := range asSlice(m["required"]) {
		required = append(required, r.(string))
	}
	typ, _ = m["type"].(string)
	if _, ok := m["const"].(string); ok && typ == "" {
		typ = "string"
	}
	for _, part := range asSlice(m["allOf"]) {
		p, r, ty := schemaOf(t, d, part)
		for k, v := range p {
			props[k] = v
		}
		required = append(required, r...)
		if typ == "" {
			typ = ty
		}
	}
	return props, required, typ
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

var timeType = reflect.TypeOf(time.Time{})

// jsonFields lists a struct's JSON fields as encoding/json sees them (embedded structs
// flattened): name → (type, omitempty).
func jsonFields(rt reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

// checkSchema compares a Go type with a schema: JSON type, property names and, for
// responses, which properties are always present.
func checkSchema(t *testing.T, d doc, rt reflect.Type, s any, at string, response bool, seen map[string]bool) {
	t.Helper()
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	props, required, typ := schemaOf(t, d, s)
	want := ""
	switch {
	case rt == timeType:
		want = "string"
		require.Equal(t, "date-time", deref(t, d, s)["format"], "%s: a time is a date-time string", at)
	case rt.Kind() == reflect.Slice && rt.Elem().Kind() == reflect.Uint8:
		want = "string"
		require.Equal(t, "base64", deref(t, d, s)["contentEncoding"], "%s: bytes are base64", at)
	case rt.Kind() == reflect.String:
		want = "string"
	case rt.Kind() == reflect.Bool:
		want = "boolean"
	case rt.Kind() >= reflect.Int && rt.Kind() <= reflect.Uint64:
		want = "integer"
	case rt.Kind() == reflect.Float32 || rt.Kind() == reflect.Float64:
		want = "number"
	case rt.Kind() == reflect.Slice:
		want = "array"
	case rt.Kind() == reflect.Map || rt.Kind() == reflect.Struct:
		want = "object"
	}
	if typ == "" && len(props) > 0 {
		typ = "object"
	}
	require.Equal(t, want, typ, "%s: Go %s", at, rt)

	key := fmt.Sprintf("%s@%v", rt, response)
	switch rt.Kind() {
	case reflect.Slice:
		if rt.Elem().Kind() != reflect.Uint8 {
			checkSchema(t, d, rt.Elem(), deref(t, d, s)["items"], at+"[]", response, seen)
		}
	case reflect.Map:
		ap, ok := deref(t, d, s)["additionalProperties"].(map[string]any)
		require.True(t, ok, "%s: a map needs additionalProperties", at)
		checkSchema(t, d, rt.Elem(), ap, at+"{}", response, seen)
	case reflect.Struct:
		if rt == timeType || seen[key] {
			return
		}
		seen[key] = true
		fields := jsonFields(rt)
		require.ElementsMatch(t, slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(props)), "%s: properties differ from the json tags of %s", at, rt)
		for name, f := range fields {
			if response {
				omitempty := strings.Contains(f.Tag.Get("json"), ",omitempty")
				require.Equal(t, !omitempty, slices.Contains(required, name),
					"%s.%s: a response field is required exactly when it has no omitempty", at, name)
			}
			checkSchema(t, d, f.Type, props[name], at+"."+name, response, seen)
		}
	}
}

// TestOpenAPISchemasMatchGoTypes checks the schemas against the JSON types of the server.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	d := loadOpenAPI(t)
	cases := []struct {
		schema   string
		v        any
		response bool
	}{
		{"SendRequest", httpapi.SendRequest{}, false},
		{"SendResponse", httpapi.SendResponse{}, true},
		{"RecallRequest", httpapi.RecallRequest{}, false},
		{"RecallResponse", httpapi.RecallResponse{}, true},
		{"MessagesResponse", httpapi.MessagesResponse{}, true},
		{"MessageView", httpapi.MessageView{}, true},
		{"Topic", httpapi.Topic{}, true},
		{"QueueInfo", httpapi.QueueInfo{}, true},
		{"ReceiveRequest", httpapi.ReceiveRequest{}, false},
		{"ReceiveResponse", httpapi.ReceiveResponse{}, true},
		{"HandlesRequest", httpapi.HandlesRequest{}, false},
		{"HandlesResponse", httpapi.HandlesResponse{}, true},
		{"ChangeInvisibleRequest", httpapi.ChangeInvisibleRequest{}, false},
		{"ChangeInvisibleResponse", httpapi.ChangeInvisibleResponse{}, true},
		{"ResetRequest", httpapi.ResetRequest{}, false},
		{"Group", httpapi.Group{}, true},
		{"LagResponse", httpapi.LagResponse{}, true},
		{"TransactionRequest", httpapi.TransactionRequest{}, false},
		{"TransactionResponse", httpapi.TransactionResponse{}, true},
		{"TransactionState", httpapi.TransactionState{}, true},
		{"TransactionChecksResponse", httpapi.TransactionChecksResponse{}, true},
		{"TraceEvent", trace.Event{}, true},
		{"PatchTopicRequest", httpapi.PatchTopicRequest{}, false},
		{"PatchGroupRequest", httpapi.PatchGroupRequest{}, false},
		{"QueueOffsetRequest", httpapi.QueueOffsetRequest{}, false},
		{"SkipBacklogRequest", httpapi.SkipBacklogRequest{}, false},
		{"OffsetsResponse", httpapi.OffsetsResponse{}, true},
		{"OffsetsForTimeResponse", httpapi.OffsetsForTimeResponse{}, true},
		{"BrowseResponse", httpapi.BrowseResponse{}, true},
		{"RedriveRequest", httpapi.RedriveRequest{}, false},
		{"RedriveTask", httpapi.RedriveTask{}, true},
		{"RedriveTasksResponse", httpapi.RedriveTasksResponse{}, true},
		{"ResendResponse", httpapi.ResendResponse{}, true},
		{"ClientsResponse", httpapi.ClientsResponse{}, true},
		{"CreateKeyRequest", auth.CreateKeyRequest{}, false},
		{"KeyView", auth.KeyView{}, true},
		{"KeyList", auth.KeyList{}, true},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		checkSchema(t, d, reflect.TypeOf(c.v), map[string]any{"$ref": "#/components/schemas/" + c.schema}, c.schema, c.response, seen)
	}
}

func intAt(t *testing.T, d doc, ptr string) int {
	t.Helper()
	v, err := resolve(d, ptr)
	require.NoError(t, err)
	f, ok := v.(float64)
	require.True(t, ok, "%s is not a number", ptr)
	return int(f)
}

// TestOpenAPILimits checks the documented limits against each other and against the
// constants of the code that enforces them.
func TestOpenAPILimits(t *testing.T) {
	d := loadOpenAPI(t)
	const mib = 1 << 20
	lim := "#/x-floe-limits/"
	require.Equal(t, 4*mib, intAt(t, d, lim+"maxBodyBytes"))
	require.Equal(t, 1024, intAt(t, d, lim+"maxMessagesPerRequest"))
	require.Equal(t, 64*mib, intAt(t, d, lim+"maxSendRequestBytes"))

	body := "#/components/schemas/Message/properties/body/"
	require.Equal(t, intAt(t, d, lim+"maxBodyBytes"), intAt(t, d, body+"x-floe-max-decoded-bytes"))
	require.Equal(t, (4*mib+2)/3*4, intAt(t, d, body+"maxLength"), "base64 length of the largest body")
	require.Equal(t, intAt(t, d, lim+"maxMessagesPerRequest"), intAt(t, d, "#/components/schemas/SendRequest/properties/messages/maxItems"))
	require.Equal(t, intAt(t, d, lim+"maxSendRequestBytes"),
		intAt(t, d, "#/paths/~1v1~1topics~1{topic}~1messages/post/requestBody/x-floe-max-request-bytes"))

	// The receive ranges, as the reader enforces them.
	receive := []struct {
		field         string
		min, max, def int
	}{
		{"maxMessages", 1, reader.MaxMaxMessages, reader.DefaultMaxMessages},
		{"invisibleSeconds", int(reader.MinInvisible / time.Second), int(reader.MaxInvisible / time.Second), int(reader.DefaultInvisible / time.Second)},
		{"waitSeconds", 0, int(reader.MaxWait / time.Second), 0},
	}
	for _, r := range receive {
		p := "#/components/schemas/ReceiveRequest/properties/" + r.field + "/"
		l := lim + "receive/" + r.field + "/"
		require.Equal(t, r.min, intAt(t, d, p+"minimum"), r.field)
		require.Equal(t, r.max, intAt(t, d, p+"maximum"), r.field)
		require.Equal(t, r.def, intAt(t, d, p+"default"), r.field)
		require.Equal(t, r.min, intAt(t, d, l+"min"), r.field)
		require.Equal(t, r.max, intAt(t, d, l+"max"), r.field)
		require.Equal(t, r.def, intAt(t, d, l+"default"), r.field)
	}
	ci := "#/components/schemas/ChangeInvisibleRequest/properties/invisibleSeconds/"
	require.Equal(t, int(reader.MinInvisible/time.Second), intAt(t, d, ci+"minimum"))
	require.Equal(t, int(reader.MaxInvisible/time.Second), intAt(t, d, ci+"maximum"))

	topic := "#/components/schemas/CreateTopicRequest/properties/"
	require.Equal(t, admin.MaxQueues, intAt(t, d, topic+"queues/maximum"))
	require.Equal(t, admin.DefaultQueues, intAt(t, d, topic+"queues/default"))
	require.Equal(t, admin.MaxQueues, intAt(t, d, lim+"maxQueuesPerTopic"))
	require.Equal(t, admin.MaxRetentionHours, intAt(t, d, topic+"retentionHours/maximum"))
	require.Equal(t, admin.DefaultRetentionHours, intAt(t, d, topic+"retentionHours/default"))
	require.Equal(t, admin.MaxLiteTTLMinutes, intAt(t, d, topic+"liteTtlMinutes/maximum"))
	require.Equal(t, admin.MaxLiteTTLMinutes, intAt(t, d, lim+"maxLiteTtlMinutes"))
	require.Equal(t, httpapi.MaxCreateRequestBytes, intAt(t, d, lim+"maxCreateRequestBytes"))
	for _, p := range []string{"~1v1~1topics", "~1v1~1groups"} {
		require.Equal(t, httpapi.MaxCreateRequestBytes, intAt(t, d, "#/paths/"+p+"/post/requestBody/x-floe-max-request-bytes"), p)
	}
	group := "#/components/schemas/CreateGroupRequest/properties/"
	require.Equal(t, admin.MaxMaxDeliveryAttempts, intAt(t, d, group+"maxDeliveryAttempts/maximum"))
	require.Equal(t, admin.DefaultMaxDeliveryAttempts, intAt(t, d, group+"maxDeliveryAttempts/default"))

	// The limits are also stated in prose, for readers of the document.
	info := obj(t, d["info"], "info")["description"].(string)
	for _, s := range []string{"4 MiB", "1024 messages and 64 MiB", "64 KiB to create a topic or a group", "maxMessages 1-1024 (default 32)",
		"invisibleSeconds 10-43200 (default 30)", "waitSeconds 0-30"} {
		require.Contains(t, info, s)
	}
}
