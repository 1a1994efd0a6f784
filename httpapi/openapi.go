package httpapi

import (
	"bytes"
	_ "embed"
)

// openAPI is the OpenAPI 3.1 document of the HTTP API. Keep it in step with the routes:
// openapi_test.go checks it against the routes the server registers and the JSON types here.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the HTTP API (JSON), which the server serves
// at GET /v1/openapi.json. Each call returns a fresh copy.
func OpenAPI() []byte { return bytes.Clone(openAPI) }
