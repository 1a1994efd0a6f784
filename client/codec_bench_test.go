package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/floemq/floe/httpapi"
)

// The benchmarks below measure the client's side of the consume benchmark (floe bench
// consume): a producer sends 32 messages of 1 KiB per request, a consumer receives up to
// 32 and acks their receipt handles.

const (
	benchBatch    = 32
	benchBodySize = 1024
)

// benchSendBatch returns a batch like the benchmark's producers send: random 1 KiB bodies
// and nothing else.
func benchSendBatch() []Message {
	rng := rand.NewChaCha8([32]byte{1})
	msgs := make([]Message, benchBatch)
	for i := range msgs {
		msgs[i].Body = make([]byte, benchBodySize)
		_, _ = rng.Read(msgs[i].Body)
	}
	return msgs
}

// benchReceiveJSON returns a receive answer of n messages of size bytes as the server writes it
// (httpapi.AppendReceiveResponse): 32-character ids, ~100-character receipt handles, a tag,
// a key, a property and the two timestamps.
func benchReceiveJSON(tb testing.TB, n, size int) []byte {
	tb.Helper()
	rng := rand.NewChaCha8([32]byte{2})
	born := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	msgs := make([]httpapi.ReceivedMessage, n)
	for i := range msgs {
		body := make([]byte, size)
		_, _ = rng.Read(body)
		handle := make([]byte, 75)
		_, _ = rng.Read(handle)
		msgs[i] = httpapi.ReceivedMessage{
			MessageView: httpapi.MessageView{
				MessageID:  fmt.Sprintf("%012X%08X%012X", born.UnixMilli(), 0xA1B2C3D4, i),
				Topic:      "bench",
				QueueID:    i % 8,
				Offset:     int64(1_000_000 + i),
				Tag:        "TagA",
				Keys:       []string{fmt.Sprintf("order-%d", i)},
				Properties: map[string]string{"region": "eu-west-1"},
				Body:       body,
				BornTime:   born.Add(time.Duration(i) * time.Microsecond),
				StoreTime:  born.Add(3 * time.Millisecond),
			},
			DeliveryAttempt: 1,
			ReceiptHandle:   base64URL(handle),
		}
	}
	b, err := httpapi.AppendReceiveResponse(nil, msgs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// base64URL encodes b as receipt handles are encoded.
func base64URL(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(alphabet[c%64])
	}
	return s.String()
}

// benchAckJSON returns an ack answer for the handles of benchReceiveJSON(n).
func benchAckJSON(tb testing.TB, handles []string) []byte {
	tb.Helper()
	res := httpapi.HandlesResponse{}
	for _, h := range handles {
		res.Results = append(res.Results, httpapi.HandleResult{ReceiptHandle: h, Status: "OK"})
	}
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// benchHandles returns the receipt handles of a receive answer.
func benchHandles(tb testing.TB, data []byte) []string {
	tb.Helper()
	var out httpapi.ReceiveResponse
	if err := json.Unmarshal(data, &out); err != nil {
		tb.Fatal(err)
	}
	handles := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		handles[i] = m.ReceiptHandle
	}
	return handles
}

// BenchmarkSendEncode encodes the body of a send of 32 messages of 1 KiB.
func BenchmarkSendEncode(b *testing.B) {
	msgs := benchSendBatch()
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(struct {
				Messages []Message `json:"messages"`
			}{msgs})
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeSendRequest(msgs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReceiveDecode decodes a receive answer of 32 messages of 1 KiB.
func BenchmarkReceiveDecode(b *testing.B) {
	data := benchReceiveJSON(b, benchBatch, benchBodySize)
	b.SetBytes(int64(len(data)))
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out struct {
				Messages []ReceivedMessage `json:"messages"`
			}
			if err := json.NewDecoder(bytes.NewReader(data)).Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeReceiveResponse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAckCodec encodes an ack of 32 handles and decodes its answer.
func BenchmarkAckCodec(b *testing.B) {
	handles := benchHandles(b, benchReceiveJSON(b, benchBatch, benchBodySize))
	answer := benchAckJSON(b, handles)
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(receiptHandles{handles})
			var out ackResults
			if err := json.NewDecoder(bytes.NewReader(answer)).Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeHandles(handles)
			if _, err := decodeAckResponse(answer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRoundTrip makes the benchmark's three calls through a Client against an
// in-process server that reads each request and answers a canned response, so ns/op is
// the client's cost plus a small, constant server cost.
func BenchmarkRoundTrip(b *testing.B) {
	recv := benchReceiveJSON(b, benchBatch, benchBodySize)
	handles := benchHandles(b, recv)
	ack := benchAckJSON(b, handles)
	var sendAnswer bytes.Buffer
	sendAnswer.WriteString(`{"messages":[`)
	for i := range benchBatch {
		if i > 0 {
			sendAnswer.WriteByte(',')
		}
		fmt.Fprintf(&sendAnswer, `{"messageId":"0193A1B2C3D4A1B2C3D4%012X","queueId":%d,"offset":%d}`, i, i%8, 1_000_000+i)
	}
	sendAnswer.WriteString(`]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/messages"):
			_, _ = w.Write(sendAnswer.Bytes())
		case strings.HasSuffix(r.URL.Path, "/receive"):
			_, _ = w.Write(recv)
		case strings.HasSuffix(r.URL.Path, "/ack"):
			_, _ = w.Write(ack)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(srv.URL)
	ctx := context.Background()
	msgs := benchSendBatch()
	b.Run("send", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Send(ctx, "bench", msgs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("receive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Receive(ctx, "floe-bench", "bench", ReceiveRequest{MaxMessages: 32, InvisibleSeconds: 30, WaitSeconds: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Ack(ctx, "floe-bench", "bench", handles); err != nil {
				b.Fatal(err)
			}
		}
	})
}
