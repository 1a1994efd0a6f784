package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

var testEcho = echo.New()

// decodeWith runs a handler-facing decoder on body as a request would bring it.
func decodeWith(decode func(echo.Context, int64, *SendRequest) error, body io.Reader, limit int64) (SendRequest, error) {
	c := testEcho.NewContext(httptest.NewRequest(http.MethodPost, "/v1/topics/t/messages", body), httptest.NewRecorder())
	var req SendRequest
	err := decode(c, limit, &req)
	return req, err
}

// decodeJSONSend is the path DecodeSendRequest replaces, the reference it must match.
func decodeJSONSend(c echo.Context, limit int64, req *SendRequest) error {
	return DecodeJSON(c, limit, req)
}

func base64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDecodeSendRequestAccepts(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		body string
		want SendRequest
		fast bool // taken by the hand-written decoder, not left to encoding/json
	}{
		{"one body", `{"messages":[{"body":"aGk="}]}`, SendRequest{Messages: []Message{{Body: []byte("hi")}}}, true},
		{"every field", `{"messages":[{"body":"` + base64Of("hello") + `","tag":"TagA","keys":["k1","k2"],"properties":{"a":"1","b":""},` +
			`"messageGroup":"g1","deliveryTime":"2026-03-01T12:00:00.5Z","liteTopic":"lite-1"}]}`,
			SendRequest{Messages: []Message{{Body: []byte("hello"), Tag: "TagA", Keys: []string{"k1", "k2"}, Properties: map[string]string{"a": "1", "b": ""},
				MessageGroup: "g1", DeliveryTime: &due, LiteTopic: "lite-1"}}}, true},
		{"fields in any order, whitespace everywhere", " \t\r\n{ \"messages\" : [ { \"tag\" : \"x\" , \"body\" : \"YQ==\" , \"keys\" : [ \"k\" , \"l\" ] } ,\n{\"body\":\"Yg==\"} ] } \n",
			SendRequest{Messages: []Message{{Body: []byte("a"), Tag: "x", Keys: []string{"k", "l"}}, {Body: []byte("b")}}}, true},
		{"empty object", `{}`, SendRequest{}, true},
		{"no messages", `{"messages":[]}`, SendRequest{Messages: []Message{}}, true},
		{"empty message", `{"messages":[{}]}`, SendRequest{Messages: []Message{{}}}, true},
		{"empty body, keys and properties", `{"messages":[{"body":"","keys":[],"properties":{}}]}`,
			SendRequest{Messages: []Message{{Body: []byte{}, Keys: []string{}, Properties: map[string]string{}}}}, true},
		{"a property twice keeps the last", `{"messages":[{"properties":{"a":"1","a":"2"}}]}`,
			SendRequest{Messages: []Message{{Properties: map[string]string{"a": "2"}}}}, true},
		{"padding variants", `{"messages":[{"body":"YWJj"},{"body":"YWI="},{"body":"YQ=="}]}`,
			SendRequest{Messages: []Message{{Body: []byte("abc")}, {Body: []byte("ab")}, {Body: []byte("a")}}}, true},
		{"delivery time with an offset", `{"messages":[{"deliveryTime":"2026-03-01T13:00:00.5+01:00"}]}`,
			SendRequest{Messages: []Message{{DeliveryTime: ptr(due.In(time.FixedZone("", 3600)))}}}, true},
		// A null member leaves its field zero, in jsonwire.Reader as in encoding/json.
		{"null body", `{"messages":[{"body":null}]}`, SendRequest{Messages: []Message{{}}}, true},
		{"null messages", `{"messages":null}`, SendRequest{}, true},
		// Valid UTF-8 without escapes is its own value.
		{"non-ASCII key", `{"messages":[{"keys":["ключ"]}]}`, SendRequest{Messages: []Message{{Keys: []string{"ключ"}}}}, true},
		// Left to encoding/json, which accepts them.
		{"escaped tag", `{"messages":[{"body":"aGk=","tag":"a\u0062"}]}`, SendRequest{Messages: []Message{{Body: []byte("hi"), Tag: "ab"}}}, false},
		{"case-variant name", `{"Messages":[{"BODY":"aGk="}]}`, SendRequest{Messages: []Message{{Body: []byte("hi")}}}, false},
		{"duplicate field", `{"messages":[{"tag":"a","tag":"b"}]}`, SendRequest{Messages: []Message{{Tag: "b"}}}, false},
		{"invalid UTF-8, replaced by encoding/json", "{\"messages\":[{\"tag\":\"a\xffb\"}]}", SendRequest{Messages: []Message{{Tag: "a\ufffdb"}}}, false},
		{"escaped slash in base64", `{"messages":[{"body":"a\/8="}]}`, SendRequest{Messages: []Message{{Body: []byte{0x6b, 0xff}}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeWith(DecodeSendRequest, strings.NewReader(tc.body), 1<<20)
			require.NoError(t, err)
			requireSameRequest(t, tc.want, got)
			old, err := decodeWith(decodeJSONSend, strings.NewReader(tc.body), 1<<20)
			require.NoError(t, err)
			requireSameRequest(t, old, got)
			_, fast := decodeSendFast([]byte(tc.body))
			require.Equal(t, tc.fast, fast, "taken by the fast path")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// requireSameRequest requires reflect.DeepEqual requests, which tells a nil slice or map
// from an empty one.
func requireSameRequest(t testing.TB, want, got SendRequest) {
	t.Helper()
	require.True(t, reflect.DeepEqual(want, got), "want %#v\ngot  %#v", want, got)
}

func TestDecodeSendRequestRejects(t *testing.T) {
	t.Parallel()
	big := `{"messages":[{"body":"` + strings.Repeat("A", 200) + `"}]}`
	for _, tc := range []struct {
		name   string
		body   string
		limit  int64
		status int
		code   string
	}{
		{"empty body", ``, 1000, 400, CodeMalformedJSON},
		{"whitespace only", " \n", 1000, 400, CodeMalformedJSON},
		{"not an object", `[]`, 1000, 400, CodeMalformedJSON},
		{"truncated", `{"messages":[`, 1000, 400, CodeMalformedJSON},
		{"unknown field", `{"messages":[{"body":"aGk=","colour":"red"}]}`, 1000, 400, CodeMalformedJSON},
		{"unknown top-level field", `{"messages":[],"x":1}`, 1000, 400, CodeMalformedJSON},
		{"the id is not settable", `{"messages":[{"body":"aGk=","ID":"x"}]}`, 1000, 400, CodeMalformedJSON},
		{"bad base64", `{"messages":[{"body":"***"}]}`, 1000, 400, CodeMalformedJSON},
		{"missing padding", `{"messages":[{"body":"YQ"}]}`, 1000, 400, CodeMalformedJSON},
		{"raw newline in base64", "{\"messages\":[{\"body\":\"YW\nJj\"}]}", 1000, 400, CodeMalformedJSON},
		{"number for a string", `{"messages":[{"body":"aGk=","tag":5}]}`, 1000, 400, CodeMalformedJSON},
		{"bool in keys", `{"messages":[{"keys":[true]}]}`, 1000, 400, CodeMalformedJSON},
		{"bad delivery time", `{"messages":[{"deliveryTime":"2026-03-01 12:00:00Z"}]}`, 1000, 400, CodeMalformedJSON},
		{"delivery time hour 24", `{"messages":[{"deliveryTime":"2026-03-01T24:00:00Z"}]}`, 1000, 400, CodeMalformedJSON},
		{"control byte in a tag", "{\"messages\":[{\"tag\":\"a\tb\"}]}", 1000, 400, CodeMalformedJSON},
		{"trailing object", `{"messages":[{"body":"aGk="}]} {}`, 1000, 400, CodeMalformedJSON},
		{"trailing garbage", `{"messages":[{"body":"aGk="}]}x`, 1000, 400, CodeMalformedJSON},
		{"trailing comma", `{"messages":[{"body":"aGk="},]}`, 1000, 400, CodeMalformedJSON},
		{"too large", big, 100, 413, CodeTooLarge},
		{"too large by one byte", `{"messages":[]} `, 15, 413, CodeTooLarge},
		// encoding/json stops at the first error, before the limit.
		{"too large, but malformed first", `{"messages":x` + big, 100, 400, CodeMalformedJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeWith(DecodeSendRequest, strings.NewReader(tc.body), tc.limit)
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.status, apiErr.Status, apiErr.Message)
			require.Equal(t, tc.code, apiErr.Code, apiErr.Message)
			_, old := decodeWith(decodeJSONSend, strings.NewReader(tc.body), tc.limit)
			require.Equal(t, old, err, "the answer of DecodeJSON")
		})
	}
}

// A typical send is taken by the fast path, not left to encoding/json.
func TestDecodeSendRequestFastPathTakesATypicalSend(t *testing.T) {
	t.Parallel()
	data := sendBenchBody()
	fast, ok := decodeSendFast(data)
	require.True(t, ok)
	var slow SendRequest
	require.NoError(t, json.Unmarshal(data, &slow))
	requireSameRequest(t, slow, fast)
	for _, s := range sendRequestSeeds()[:3] {
		_, ok := decodeSendFast([]byte(s))
		require.True(t, ok, s)
	}
}

// A broken connection reads as it did through DecodeJSON.
func TestDecodeSendRequestReadError(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	for _, body := range []string{`{"messages":[{"bo`, `{"messages":[]}`, `{"messages":x`} {
		_, got := decodeWith(DecodeSendRequest, io.MultiReader(strings.NewReader(body), iotest.ErrReader(broken)), 1000)
		_, want := decodeWith(decodeJSONSend, io.MultiReader(strings.NewReader(body), iotest.ErrReader(broken)), 1000)
		require.Error(t, got, body)
		require.Equal(t, want, got, body)
	}
}

// The Content-Length only sizes the first buffer: too small, too large or absent, the
// body is read whole.
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 1000)
	for _, cl := range []int64{-1, 0, 1, 511, 512, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 1, 1 << 40} {
		got, err := readBody(iotest.HalfReader(bytes.NewReader(body)), cl, nil)
		require.NoError(t, err)
		require.Equal(t, body, got, "content length %d", cl)
	}
}

// sendRequestSeeds are realistic requests and the cases the fast path must leave to
// encoding/json.
func sendRequestSeeds() []string {
	r := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 300)
	for i := range body {
		body[i] = byte(r.UintN(256))
	}
	var realistic strings.Builder
	realistic.WriteString(`{"messages":[`)
	for i := range 4 {
		if i > 0 {
			realistic.WriteString(",")
		}
		fmt.Fprintf(&realistic, `{"body":%q,"tag":"TagA","keys":["order-%d"]}`, base64.StdEncoding.EncodeToString(body[:100*i]), i)
	}
	realistic.WriteString(`]}`)
	return []string{
		realistic.String(),
		`{"messages":[{"body":"aGk="}]}`,
		`{"messages":[{"body":"aGVsbG8=","tag":"TagA","keys":["k1","k2"],"properties":{"a":"1","b":""},"messageGroup":"g1","deliveryTime":"2026-03-01T12:00:00.5Z","liteTopic":"lite-1"}]}`,
		" \t\r\n{ \"messages\" : [ { \"tag\" : \"x\" , \"body\" : \"YQ==\" , \"keys\" : [ \"k\" , \"l\" ] } ,\n{\"body\":\"Yg==\"} ] } \n",
		`{}`, `{"messages":[]}`, `{"messages":[{}]}`, `{"messages":null}`, `{"messages":[null]}`,
		`{"messages":[{"body":"","keys":[],"properties":{}}]}`,
		`{"Messages":[{"BODY":"aGk=","Tag":"x"}]}`, `{"meſſages":[]}`, `{"messages":[{"boDy":"aGk="}]}`,
		`{"messages":[{"body":"aGk=","tag":"a\u0062"}]}`, `{"messages":[{"bod\u0079":"aGk="}]}`,
		`{"messages":[{"body":"a\/8="}]}`, `{"messages":[{"body":"aG\u006b="}]}`,
		`{"messages":[{"body":null,"keys":null,"properties":null,"deliveryTime":null,"tag":null}]}`,
		`{"messages":[{"keys":[null]}]}`, `{"messages":[{"properties":{"a":null}}]}`,
		`{"messages":[{"tag":"a","tag":"b"}]}`, `{"messages":[{"body":"YQ=="}],"messages":[{"tag":"x"}]}`,
		`{"messages":[{"properties":{"a":"1","a":"2"}}]}`,
		`{"messages":[{"body":"aGk="}]} {}`, `{"messages":[{"body":"aGk="}]}x`, `{"messages":[]} ` + "\n\t\r",
		`{"messages":[]}` + "\x00", `{"messages":[]}"`, `{"messages":[]}1`,
		"{\"messages\":[{\"body\":\"YW\nJj\"}]}", "{\"messages\":[{\"body\":\"YW\r\nJj\"}]}", `{"messages":[{"body":"YW\nJj"}]}`,
		`{"messages":[{"body":"***"}]}`, `{"messages":[{"body":"YQ"}]}`, `{"messages":[{"body":"YQ="}]}`,
		`{"messages":[{"body":"YR=="}]}`, `{"messages":[{"body":"YWJ="}]}`, `{"messages":[{"body":"YQ==YQ=="}]}`, `{"messages":[{"body":"===="}]}`,
		`{"messages":[{"body":"YWJj","tag":5}]}`, `{"messages":[{"keys":[true]}]}`, `{"messages":[{"body":1}]}`,
		`{"messages":[{"deliveryTime":"2026-03-01T12:00:00Z"}]}`, `{"messages":[{"deliveryTime":"2026-03-01T13:00:00.5+01:00"}]}`,
		`{"messages":[{"deliveryTime":"2026-03-01 12:00:00Z"}]}`, `{"messages":[{"deliveryTime":"2026-03-01T24:00:00Z"}]}`,
		`{"messages":[{"deliveryTime":"2026-03-01T12:00:00,5Z"}]}`, `{"messages":[{"deliveryTime":"2026-03-01T12:00:00+24:00"}]}`,
		"{\"messages\":[{\"tag\":\"a\tb\"}]}", "{\"messages\":[{\"tag\":\"a\x7fb\"}]}", `{"messages":[{"keys":["ключ"]}]}`,
		"{\"messages\":[{\"tag\":\"\xff\"}]}", "\ufeff{}",
		`{"messages":[{"body":"aGk="},]}`, `{"messages":[{"body":"aGk=",}]}`, `{"messages":[`, `{"messages"`, `{`, ``, ` `, `[]`, `"x"`,
		`{"messages":[{"body":"aGk=","colour":"red"}]}`, `{"messages":[],"x":1}`, `{"messages":[{"ID":"x"}]}`, `{"messages":[{"-":"x"}]}`,
	}
}

// FuzzDecodeSendRequest checks that DecodeSendRequest answers every input, within the
// limit or over it, as DecodeJSON does, and that what the fast path takes, encoding/json
// decodes to the same value.
func FuzzDecodeSendRequest(f *testing.F) {
	for _, s := range sendRequestSeeds() {
		f.Add([]byte(s), uint16(4096))
	}
	f.Add([]byte(`{"messages":[{"body":"aGk="}]}`), uint16(10))
	f.Add([]byte(`{"messages":[{"body":"aGk="}]}`), uint16(29))
	f.Add([]byte(`{"messages":[{"body":"aGk="}]} `), uint16(29))
	f.Add([]byte(`{"messages":[]} "aaaa`), uint16(18))
	f.Add([]byte(`{"messages":[]} 123`), uint16(18))
	f.Add([]byte(`{"messages":[]} {"x":1}`), uint16(18))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		got, gotErr := decodeWith(DecodeSendRequest, bytes.NewReader(data), int64(limit))
		// encoding/json as DecodeJSON runs it on a request, the body arriving a byte at
		// a time.
		want, wantErr := decodeWith(decodeJSONSend, iotest.OneByteReader(bytes.NewReader(data)), int64(limit))
		require.Equal(t, wantErr, gotErr, "input %q, limit %d", data, limit)
		if wantErr == nil {
			requireSameRequest(t, want, got)
		}

		fast, ok := decodeSendFast(data)
		if !ok {
			return
		}
		var slow SendRequest
		err := decodeJSON(bytes.NewReader(data), int64(len(data))+1, &slow)
		require.NoError(t, err, "the fast path took %q", data)
		requireSameRequest(t, slow, fast)
	})
}

// sendBenchBody is the body of a typical send: 32 messages of 1 KiB random bodies, with a
// tag and keys.
func sendBenchBody() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	req := SendRequest{Messages: make([]Message, 32)}
	for i := range req.Messages {
		body := make([]byte, 1024)
		for j := range body {
			body[j] = byte(r.UintN(256))
		}
		req.Messages[i] = Message{Body: body, Tag: "TagA", Keys: []string{fmt.Sprintf("order-%d", i), fmt.Sprintf("customer-%d", i%7)}}
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecodeSendRequest compares the decoding of a typical send through the old
// path (DecodeJSON) and the new one, both from the request's body reader.
func BenchmarkDecodeSendRequest(b *testing.B) {
	data := sendBenchBody()
	for _, bc := range []struct {
		name   string
		decode func(echo.Context, int64, *SendRequest) error
	}{
		{"encoding/json", decodeJSONSend},
		{"fast", DecodeSendRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := bytes.NewReader(data)
			httpReq := httptest.NewRequest(http.MethodPost, "/v1/topics/t/messages", body)
			httpReq.Body = io.NopCloser(body)
			c := echo.New().NewContext(httpReq, httptest.NewRecorder())
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(data)
				var req SendRequest
				if err := bc.decode(c, 64<<20, &req); err != nil {
					b.Fatal(err)
				}
				if len(req.Messages) != 32 {
					b.Fatal("messages lost")
				}
			}
		})
	}
}
