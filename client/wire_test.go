package client

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
)

// wireTimes are times of the kinds the server writes and a few it does not.
var wireTimes = func() []time.Time {
	t := time.Date(2026, 11, 24, 10, 11, 12, 123456789, time.UTC)
	return []time.Time{
		t,
		t.Truncate(time.Second),
		t.In(time.FixedZone("X", 3600)),
		t.In(time.FixedZone("", -(9*3600 + 30*60))),
		{},
	}
}()

// sendCases are batches covering every field of Message and the strings encoding/json
// escapes.
func sendCases() map[string][]Message {
	due := wireTimes[0]
	dueZone := wireTimes[2]
	return map[string][]Message{
		"nil":           nil,
		"empty":         {},
		"empty message": {{}, {Body: []byte{}}, {Keys: []string{}, Properties: map[string]string{}}},
		"bench":         benchSendBatch(),
		"every field": {{
			Body: []byte("hello"), Tag: "TagA", Keys: []string{"order-1", "order-2"},
			Properties: map[string]string{"region": "eu", "a": "1", "Z": "2"}, MessageGroup: "user-7",
			DeliveryTime: &due, LiteTopic: "chat-42",
		}},
		"one field each": {
			{Tag: "t"}, {Keys: []string{"k"}}, {Properties: map[string]string{"p": "v"}},
			{MessageGroup: "g"}, {DeliveryTime: &dueZone}, {LiteTopic: "l"}, {Body: []byte{0}},
		},
		"escapes": {{
			Body: []byte{0, 1, 2, 250, 255}, Tag: "Tag \"A\" <b>&amp;</b>",
			Keys:         []string{"ключ", "a\u2028b\u2029", "\x01\x1f\t\n\r\b\f", `back\slash`, "\xff\xfe invalid", ""},
			Properties:   map[string]string{"<k>": "&v", "\x00": "\u00e9", "é": "\xc3"},
			MessageGroup: "grp\\1/2", LiteTopic: "lite<>&'",
		}},
		"zero delivery time": {{DeliveryTime: &wireTimes[4]}},
	}
}

// The hand-written encodings are byte for byte those of json.Marshal.
func TestEncodeSendRequestMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for name, msgs := range sendCases() {
		want, err := json.Marshal(sendRequest{msgs})
		require.NoError(t, err, name)
		got, err := encodeSendRequest(msgs)
		require.NoError(t, err, name)
		require.Equal(t, string(want), string(got), name)
	}
}

func TestEncodeSendRequestFailsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	late := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs := []Message{{Body: []byte("x"), DeliveryTime: &late}}
	_, want := json.Marshal(sendRequest{msgs})
	require.Error(t, want)
	_, got := encodeSendRequest(msgs)
	require.Equal(t, want.Error(), got.Error())
}

func TestEncodeHandlesMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := [][]string{nil, {}, {"a"}, {"AAEC_-x", "", "<&>", "\"\\", "\xff", "é\u2028"}}
	for _, handles := range cases {
		want, err := json.Marshal(receiptHandles{handles})
		require.NoError(t, err)
		require.Equal(t, string(want), string(encodeHandles(handles)), "%q", handles)
	}
}

// receiveCases are receive answers as the server writes them, and as it might.
func receiveCases(t testing.TB) map[string][]byte {
	cases := map[string][]byte{
		"bench":           benchReceiveJSON(t, benchBatch, benchBodySize),
		"small":           benchReceiveJSON(t, 2, 8),
		"empty":           []byte(`{"messages":[]}` + "\n"),
		"no messages key": []byte(`{}`),
		"null messages":   []byte(`{"messages":null}`),
		"spaces":          []byte(" \t\r\n{ \"messages\" : [ { \"messageId\" : \"m\" , \"queueId\" : -0 } , { } ] } \n"),
		"nulls": []byte(`{"messages":[{"messageId":null,"queueId":null,"keys":null,"properties":null,"body":null,
			"bornTime":null,"deliveryTime":null,"receiptHandle":null}]}`),
		"every field": []byte(`{"messages":[{"messageId":"01J","topic":"%DLQ%g","queueId":3,"offset":1099511627776,
			"tag":"TagA","keys":["k1","ключ",""],"properties":{"z":"1","a":"2","a":"3"},"body":"AAEC+v8=",
			"messageGroup":"grp","liteTopic":"lite/1","bornTime":"2026-11-24T10:11:12.123456789Z",
			"storeTime":"2026-11-24T11:11:12.124+01:00","deliveryTime":"2026-11-24T10:11:13Z",
			"deliveryAttempt":7,"receiptHandle":"h.abc_DEF-1"}]}`),
		"empty values":   []byte(`{"messages":[{"keys":[],"properties":{},"body":"","tag":""}]}`),
		"escape":         []byte(`{"messages":[{"tag":"\u003cb\u003e","receiptHandle":"a\"b"}]}`),
		"unknown field":  []byte(`{"messages":[{"messageId":"m","extra":{"a":[1,2]}}]}`),
		"folded name":    []byte(`{"messages":[{"MessageID":"m"}]}`),
		"duplicate":      []byte(`{"messages":[{"deliveryTime":"2026-11-24T10:11:13Z","DeliveryTime":null}]}`),
		"float":          []byte(`{"messages":[{"queueId":1.5}]}`),
		"exponent":       []byte(`{"messages":[{"offset":1e3}]}`),
		"huge":           []byte(`{"messages":[{"offset":123456789012345678901}]}`),
		"leading zero":   []byte(`{"messages":[{"offset":01}]}`),
		"bad base64":     []byte(`{"messages":[{"body":"AAE"}]}`),
		"newline base64": []byte(`{"messages":[{"body":"AA\nE="}]}`),
		"escaped base64": []byte(`{"messages":[{"body":"AA\/E="}]}`),
		"bad time":       []byte(`{"messages":[{"bornTime":"yesterday"}]}`),
		"invalid utf-8":  []byte("{\"messages\":[{\"tag\":\"\xff\"}]}"),
		"control char":   []byte("{\"messages\":[{\"tag\":\"a\x01\"}]}"),
		"trailing data":  []byte(`{"messages":[]} {"messages":[{}]}`),
		"trailing comma": []byte(`{"messages":[{"tag":"a",}]}`),
		"truncated":      []byte(`{"messages":[{"tag":"a"`),
		"not an object":  []byte(`[]`),
		"empty body":     []byte(``),
		"wrong type":     []byte(`{"messages":[{"tag":1}]}`),
	}
	return cases
}

// checkFastDecode checks one input against encoding/json: when fast decodes it, so does
// json.Unmarshal, to the same value; and decode, the fast decoder with its fallback,
// accepts what Client.do accepts and returns the same.
func checkFastDecode[T any, R any](t testing.TB, data []byte, fast func([]byte, *T) bool, decode func([]byte) (R, error), list func(*T) R) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(data, &want)
	var got T
	if fast(data, &got) {
		if wantErr != nil {
			t.Fatalf("fast decoder accepted %q, encoding/json did not: %v", data, wantErr)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("fast decoder on %q:\n got %#v\nwant %#v", data, got, want)
		}
	}
	var viaDo T
	doErr := decodeJSON(data, &viaDo)
	res, err := decode(data)
	if (doErr == nil) != (err == nil) {
		t.Fatalf("decode(%q) error %v, encoding/json error %v", data, err, doErr)
	}
	if err == nil && !reflect.DeepEqual(list(&viaDo), res) {
		t.Fatalf("decode(%q):\n got %#v\nwant %#v", data, res, list(&viaDo))
	}
}

func checkReceive(t testing.TB, data []byte) {
	checkFastDecode(t, data, decodeReceiveFast, decodeReceiveResponse, func(r *receiveResponse) []ReceivedMessage { return r.Messages })
}

func checkSend(t testing.TB, data []byte) {
	checkFastDecode(t, data, decodeSendFast, decodeSendResponse, func(r *sendResponse) []SendResult { return r.Messages })
}

func checkAck(t testing.TB, data []byte) {
	checkFastDecode(t, data, decodeAckFast, decodeAckResponse, func(r *ackResults) []AckResult { return r.Results })
}

func TestDecodeReceiveResponseMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for name, data := range receiveCases(t) {
		t.Run(name, func(t *testing.T) { checkReceive(t, data) })
	}
}

// The server's answers take the fast path; the unusual ones fall back.
func TestDecodeReceiveFastPath(t *testing.T) {
	t.Parallel()
	cases := receiveCases(t)
	for _, name := range []string{"bench", "small", "empty", "spaces", "nulls", "every field", "empty values"} {
		var out receiveResponse
		require.True(t, decodeReceiveFast(cases[name], &out), name)
	}
	for _, name := range []string{"escape", "unknown field", "folded name", "duplicate", "float", "huge", "trailing data", "empty body"} {
		var out receiveResponse
		require.False(t, decodeReceiveFast(cases[name], &out), name)
	}
}

func TestDecodeSendResponseMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"messages":[{"messageId":"m1","deliveryTime":"2026-11-25T10:00:00Z"},{"messageId":"m2","queueId":3,"offset":17}]}` + "\n",
		`{"messages":[]}`, `{"messages":null}`, `{}`, ``,
		`{"messages":[{"messageId":"m1","queueId":1.0}]}`,
		`{"messages":[{"messageId":"m1","other":1}]}`,
		`{"messages":[{"messageId":"m\u00e9"}]}`,
	} {
		checkSend(t, []byte(data))
	}
}

func TestDecodeAckResponseMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"results":[{"receiptHandle":"h1","status":"OK"},{"receiptHandle":"h2","status":"EXPIRED"}]}` + "\n",
		`{"results":[]}`, `{"results":null}`, `{}`, ``, `{"ok":true}`,
		`{"results":[{"receiptHandle":"h1","status":"OK","status":"INVALID"}]}`,
	} {
		checkAck(t, []byte(data))
	}
}

// FuzzDecodeReceiveResponse checks the receive decoder against encoding/json on any
// input: both accept with equal results, or both refuse.
func FuzzDecodeReceiveResponse(f *testing.F) {
	for name, data := range receiveCases(f) {
		if name != "bench" { // too large to mutate and minimize quickly; "small" has its shape
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkReceive(t, data) })
}

// FuzzDecodeSendResponse checks the send decoder against encoding/json on any input.
func FuzzDecodeSendResponse(f *testing.F) {
	f.Add([]byte(`{"messages":[{"messageId":"m1","deliveryTime":"2026-11-25T10:00:00Z"},{"messageId":"m2","queueId":3,"offset":17}]}`))
	f.Add([]byte(`{"messages":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkSend(t, data) })
}

// FuzzDecodeAckResponse checks the ack decoder against encoding/json on any input.
func FuzzDecodeAckResponse(f *testing.F) {
	f.Add([]byte(`{"results":[{"receiptHandle":"h1","status":"OK"},{"receiptHandle":"h2","status":"EXPIRED"}]}`))
	f.Add([]byte(`{"results":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkAck(t, data) })
}

// The answers the server writes take the fast path; encoding/json is left the unusual ones.
func TestServerAnswersTakeTheFastPath(t *testing.T) {
	t.Parallel()
	// The server writes receive answers with httpapi.AppendReceiveResponse and a newline,
	// and the others with echo's JSON encoder.
	recv := append(benchReceiveJSON(t, benchBatch, benchBodySize), '\n')
	var rout receiveResponse
	require.True(t, decodeReceiveFast(recv, &rout))
	require.Len(t, rout.Messages, benchBatch)

	queue, offset := 3, int64(17)
	due := wireTimes[0]
	send := encodeWithNewline(t, httpapi.SendResponse{Messages: []httpapi.SendResult{
		{MessageID: "0193A1B2C3D4A1B2C3D4000000000001", QueueID: &queue, Offset: &offset},
		{MessageID: "0193A1B2C3D4A1B2C3D4000000000002", DeliveryTime: &due},
	}})
	var sout sendResponse
	require.True(t, decodeSendFast(send, &sout))
	require.Equal(t, []SendResult{{MessageID: "0193A1B2C3D4A1B2C3D4000000000001", QueueID: 3, Offset: 17},
		{MessageID: "0193A1B2C3D4A1B2C3D4000000000002", DeliveryTime: &due}}, sout.Messages)

	ack := encodeWithNewline(t, httpapi.HandlesResponse{Results: []httpapi.HandleResult{
		{ReceiptHandle: "AQID-_x", Status: "OK"}, {ReceiptHandle: "BAUG", Status: "EXPIRED"}}})
	var aout ackResults
	require.True(t, decodeAckFast(ack, &aout))
	require.Equal(t, []AckResult{{ReceiptHandle: "AQID-_x", Status: AckOK}, {ReceiptHandle: "BAUG", Status: AckExpired}}, aout.Results)
}

// encodeWithNewline encodes v as echo's ctx.JSON does.
func encodeWithNewline(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.NewEncoder(&b).Encode(v))
	return b.Bytes()
}
