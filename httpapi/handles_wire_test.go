package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func decodeHandlesWith(decode func(*HandlesRequest, *http.Request, int64) error, data []byte, limit int64, oneByte bool) (HandlesRequest, error) {
	var body = bytes.NewReader(data)
	req := httptest.NewRequest(http.MethodPost, "/v1/groups/g/topics/t/ack", body)
	if oneByte {
		req = httptest.NewRequest(http.MethodPost, "/v1/groups/g/topics/t/ack", iotest.OneByteReader(body))
	}
	var out HandlesRequest
	return out, decode(&out, req, limit)
}

func viaFast(out *HandlesRequest, r *http.Request, limit int64) error {
	return DecodeHandlesRequest(testEcho.NewContext(r, httptest.NewRecorder()), limit, out)
}

func viaJSON(out *HandlesRequest, r *http.Request, limit int64) error {
	return DecodeJSON(testEcho.NewContext(r, httptest.NewRecorder()), limit, out)
}

func TestDecodeHandlesRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       HandlesRequest
		fast       bool
		err        string
	}{
		{"handles", `{"receiptHandles":["a","b"]}`, HandlesRequest{ReceiptHandles: []string{"a", "b"}}, true, ""},
		{"empty list", ` { "receiptHandles" : [ ] } `, HandlesRequest{ReceiptHandles: []string{}}, true, ""},
		{"null", `{"receiptHandles":null}`, HandlesRequest{}, true, ""},
		{"escaped, left to encoding/json", `{"receiptHandles":["a\u0062"]}`, HandlesRequest{ReceiptHandles: []string{"ab"}}, false, ""},
		{"case-folded name, left to encoding/json", `{"ReceiptHandles":["a"]}`, HandlesRequest{ReceiptHandles: []string{"a"}}, false, ""},
		{"unknown field", `{"receiptHandles":["a"],"x":1}`, HandlesRequest{}, false, `json: unknown field "x"`},
		{"not strings", `{"receiptHandles":[1]}`, HandlesRequest{}, false, "cannot unmarshal number"},
		{"trailing data", `{"receiptHandles":[]} {}`, HandlesRequest{}, false, "unexpected data after the JSON object"},
		{"empty body", ``, HandlesRequest{}, false, "request body is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fast := decodeHandlesFast([]byte(tc.body))
			require.Equal(t, tc.fast, fast)
			got, err := decodeHandlesWith(viaFast, []byte(tc.body), 1<<20, false)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzDecodeHandlesRequest(f *testing.F) {
	f.Add([]byte(`{"receiptHandles":["a","b"]}`), uint16(4096))
	f.Add([]byte(`{"receiptHandles":[]}`), uint16(10))
	f.Add([]byte(`{"receiptHandles":null} `), uint16(4096))
	f.Add([]byte(`{"receiptHandles":["\u00e9"]}`), uint16(4096))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		got, gotErr := decodeHandlesWith(viaFast, data, int64(limit), false)
		// encoding/json as DecodeJSON runs it on a request, the body arriving a byte at a time.
		want, wantErr := decodeHandlesWith(viaJSON, data, int64(limit), true)
		require.Equal(t, wantErr, gotErr, "input %q, limit %d", data, limit)
		require.Equal(t, want, got, "input %q", data)
	})
}

func TestAppendHandlesResponseIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, res := range [][]HandleResult{
		nil,
		{},
		{{ReceiptHandle: "h1", Status: "OK"}, {ReceiptHandle: "<&>\"\\\x01é\xff", Status: "INVALID"}},
	} {
		want, err := json.Marshal(HandlesResponse{Results: res})
		require.NoError(t, err)
		require.Equal(t, string(want), string(AppendHandlesResponse(nil, res)))
	}
}

// BenchmarkDecodeHandlesRequest decodes the ack body of a 32-message receive, with the
// hand-written decoder (fast) and with encoding/json (json).
func BenchmarkDecodeHandlesRequest(b *testing.B) {
	var req HandlesRequest
	for i := range 32 {
		req.ReceiptHandles = append(req.ReceiptHandles, fmt.Sprintf("AQID%08dBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIz", i))
	}
	body, err := json.Marshal(req)
	require.NoError(b, err)
	for _, path := range []struct {
		name   string
		decode func(*HandlesRequest, *http.Request, int64) error
	}{{"fast", viaFast}, {"json", viaJSON}} {
		b.Run(path.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeHandlesWith(path.decode, body, 1<<20, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
