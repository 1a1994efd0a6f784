package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/internal/jsonwire"
)

// DecodeSendRequest reads the body of a send (POST /v1/topics/{topic}/messages), of at
// most limit bytes, into req. It answers every input exactly as DecodeJSON(c, limit, req)
// does, same value, same status and same error message, at a fraction of the cost: the
// send body is mostly base64 bodies, and encoding/json scanned each one three times
// (validating, unquoting, decoding), a third of an ingest node's CPU.
//
// The body is read once into a buffer. A hand-written decoder (decodeSendFast, on
// jsonwire.Reader) takes the shape clients send; anything it is not sure to decode
// exactly as encoding/json would (escapes, case-variant or duplicate names, invalid
// UTF-8, malformed input, ...) it leaves to encoding/json over the same bytes, which also
// writes every error message.
func DecodeSendRequest(c echo.Context, limit int64, req *SendRequest) error {
	return decodeFast(c, limit, req, decodeSendFast)
}

// decodeFast reads a body of at most limit bytes into req: with fast when it takes the
// bytes, else with encoding/json over the same bytes, so that every input is answered as
// DecodeJSON(c, limit, req) answers it. What fast returns must not point into its input.
func decodeFast[T any](c echo.Context, limit int64, req *T, fast func([]byte) (T, bool)) error {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	buf := bodyBuffers.Get().(*[]byte)
	body, readErr := readBody(r, c.Request().ContentLength, (*buf)[:0])
	defer func() {
		// Nothing decoded points into the buffer: strings are copied, bodies decoded
		// into their own allocation, so it serves the next request.
		if cap(body) <= maxBodyBuffer {
			*buf = body
			bodyBuffers.Put(buf)
		}
	}()
	if readErr == nil {
		if v, ok := fast(body); ok {
			*req = v
			return nil
		}
	}
	// Replay what was read, then the error that ended the read (over the limit, a
	// broken connection): encoding/json meets them in the order it would have met them
	// on the request, and answers as DecodeJSON does, 400 for malformed JSON before the
	// limit, 413 for a body that reaches past it.
	var replay io.Reader = bytes.NewReader(body)
	if readErr != nil {
		replay = io.MultiReader(replay, errReader{readErr})
	}
	return decodeJSON(replay, limit, req)
}

// maxBodyBuffer bounds the buffer allocated up front from a request's Content-Length, so
// that a client announcing a large body and not sending it costs no more memory than
// it sent, and the buffers kept in bodyBuffers for the next requests.
const maxBodyBuffer = 1<<20 + 1

// bodyBuffers holds *[]byte buffers to read request bodies into.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// readBody appends what r reads to b (the buffer to reuse) until the end. It returns the
// bytes and the error that ended the read, nil for io.EOF.
func readBody(r io.Reader, contentLength int64, b []byte) ([]byte, error) {
	size := 512
	if contentLength > 0 {
		// One byte more, so that io.EOF comes without growing the buffer.
		size = int(min(contentLength+1, maxBodyBuffer))
	}
	if cap(b)-len(b) < size {
		b = append(make([]byte, 0, len(b)+size), b...)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// errReader is a reader that fails with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// decodeSendFast decodes a send body in jsonwire's plain subset: objects with the fields
// of SendRequest and Message spelled exactly and each at most once, strings without
// escapes, control bytes or invalid UTF-8. It returns false for anything else, valid or
// not; what it returns with true is what encoding/json returns for the same bytes
// (reflect.DeepEqual; FuzzDecodeSendRequest checks it).
func decodeSendFast(b []byte) (SendRequest, bool) {
	r := jsonwire.NewReader(b)
	var req SendRequest
	ok := r.Object(sendRequestFields, func(int) bool {
		req.Messages = []Message{}
		return r.Array(func() bool {
			req.Messages = append(req.Messages, Message{})
			return decodeMessage(r, &req.Messages[len(req.Messages)-1])
		})
	})
	if !ok || !r.End() {
		return SendRequest{}, false
	}
	return req, true
}

// sendRequestFields are the JSON names of SendRequest's fields.
var sendRequestFields = []string{"messages"}

// messageFields are the JSON names of Message's fields.
var messageFields = []string{"body", "tag", "keys", "properties", "messageGroup", "deliveryTime", "liteTopic", "priority", "deduplicationId"}

// decodeMessage reads one message object into m, which must be zero.
func decodeMessage(r *jsonwire.Reader, m *Message) bool {
	return r.Object(messageFields, func(i int) bool {
		var ok bool
		switch messageFields[i] {
		case "body":
			// Decoded straight from the request bytes.
			m.Body, ok = r.Base64()
		case "tag":
			m.Tag, ok = r.String("")
		case "keys":
			m.Keys, ok = r.Strings()
		case "properties":
			m.Properties, ok = r.StringMap()
		case "messageGroup":
			m.MessageGroup, ok = r.String("")
		case "deliveryTime":
			m.DeliveryTime = new(time.Time)
			ok = r.Time(m.DeliveryTime)
		case "liteTopic":
			m.LiteTopic, ok = r.String("")
		case "priority":
			var p int
			p, ok = r.Int()
			m.Priority = &p
		case "deduplicationId":
			m.DeduplicationID, ok = r.String("")
		}
		return ok
	})
}
