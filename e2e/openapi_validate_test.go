package e2e_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
)

// specValidator checks HTTP answers against the server's own OpenAPI document, built once.
var specValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("reading openapi.json: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("building the validator of openapi.json: %v", errs)
	}
	return v, nil
})

// validatingTransport fails the test when an answer of the server does not match
// openapi.json: its status, content type and body against the operation's responses.
// Every client of a node started by startNode sends through it, so the e2e tests double
// as a check that the contract and the code agree.
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

// validatedTransport is the transport the e2e clients share (one connection pool).
var validatedTransport = func() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return tr
}()

// validatingClient returns an HTTP client whose answers are checked against openapi.json.
func validatingClient(t testing.TB) *http.Client {
	return &http.Client{Transport: validatingTransport{t: t, base: validatedTransport}}
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the client meets the same broken body
	}
	val, verr := specValidator()
	if verr != nil {
		v.t.Errorf("%v", verr)
		return resp, nil
	}
	checked := *resp
	checked.Body = io.NopCloser(bytes.NewReader(body))
	vreq := req.Clone(req.Context())
	vreq.Body = http.NoBody
	if ok, errs := val.ValidateHttpResponse(vreq, &checked); !ok {
		var msgs []string
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			msgs = append(msgs, msg)
		}
		v.t.Errorf("%s %s answered %d, which openapi.json does not allow:\n  %s\n  body: %.400s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(msgs, "\n  "), body)
	}
	return resp, nil
}

// errorRecorder is a testing.TB that keeps what Errorf reports.
type errorRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestValidatingTransportCatchesDrift: an answer that breaks the document fails the test.
func TestValidatingTransportCatchesDrift(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/topics":
			fmt.Fprint(w, `{"topics":[{"name":"orders","type":"NORMAL","queues":"four"}]}`)
		default:
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, `{"oops":true}`)
		}
	}))
	defer srv.Close()
	rec := &errorRecorder{TB: t}
	hc := &http.Client{Transport: validatingTransport{t: rec, base: http.DefaultTransport}}
	for _, path := range []string{"/v1/topics", "/v1/groups/g/lag"} {
		resp, err := hc.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Len(t, rec.errs, 2, "%v", rec.errs)
	require.Contains(t, rec.errs[0], "GET /v1/topics answered 200")
}
