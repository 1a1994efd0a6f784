package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// openAPI is the OpenAPI 3.1 document of the HTTP API. Keep it in step with the routes:
// openapi_test.go checks it against the routes the server registers and the JSON types here.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the HTTP API (JSON), which the server serves
// at GET /v1/openapi.json. Each call returns a fresh copy.
func OpenAPI() []byte { return bytes.Clone(openAPI) }

// Route is one operation of the OpenAPI document.
type Route struct {
	// Method is the HTTP method, upper case.
	Method string
	// Path is the path template, with {param} placeholders.
	Path string
	// Role is the role whose nodes serve the route (x-floe-role): "ingest", "reader", or
	// "any" for the routes every node serves. Gateways route by it.
	Role string
}

// ExamplePath is Path with each placeholder replaced by a plausible value, for routing
// tables that must send every route of the document to a node that serves it.
func (r Route) ExamplePath() string {
	return placeholder.ReplaceAllStringFunc(r.Path, func(p string) string {
		switch p {
		case "{queueId}":
			return "3"
		case "{messageId}":
			return "0A1B2C3D"
		case "{transactionId}":
			return "tx-1"
		}
		return "name1"
	})
}

var placeholder = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)

// Routes lists the operations of the OpenAPI document, sorted by path and method.
func Routes() ([]Route, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &d); err != nil {
		return nil, fmt.Errorf("reading openapi.json: %w", err)
	}
	var out []Route
	for path, item := range d.Paths {
		for method, raw := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			var op struct {
				Role string `json:"x-floe-role"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("openapi.json %s %s: %w", method, path, err)
			}
			out = append(out, Route{Method: strings.ToUpper(method), Path: path, Role: op.Role})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}
