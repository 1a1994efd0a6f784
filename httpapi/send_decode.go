package httpapi

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// DecodeSendRequest reads the body of a send (POST /v1/topics/{topic}/messages), of at
// most limit bytes, into req. It answers every input exactly as DecodeJSON(c, limit, req)
// does, same value, same status and same error message, at a fraction of the cost: the
// send body is mostly base64 bodies, and encoding/json scanned each one three times
// (validating, unquoting, decoding), a third of an ingest node's CPU.
//
// The body is read once into a buffer. A hand-written decoder (decodeSendFast) takes the
// shape clients send; anything it is not sure to decode exactly as encoding/json would
// (escapes, nulls, case-variant or duplicate names, non-ASCII, malformed input, ...) it
// leaves to encoding/json over the same bytes, which also writes every error message.
func DecodeSendRequest(c echo.Context, limit int64, req *SendRequest) error {
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
		if fast, ok := decodeSendFast(body); ok {
			*req = fast
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

// decodeSendFast decodes a send body of the common shape: JSON whitespace, objects with
// the fields of SendRequest and Message spelled exactly and each at most once, and
// strings without escapes, control or non-ASCII bytes. It returns false for anything else,
// valid or not; what it returns with true is what encoding/json returns for the same
// bytes (reflect.DeepEqual; FuzzDecodeSendRequest checks it).
func decodeSendFast(b []byte) (SendRequest, bool) {
	p := sendParser{b: b}
	var req SendRequest
	p.space()
	if !p.take('{') {
		return req, false
	}
	p.space()
	if !p.take('}') {
		name, ok := p.plainString()
		if !ok || string(name) != "messages" || !p.colon() {
			return req, false
		}
		if req.Messages, ok = p.messages(); !ok {
			return req, false
		}
		p.space()
		if !p.take('}') {
			return req, false
		}
	}
	p.space()
	if p.i != len(p.b) {
		return req, false
	}
	return req, true
}

// sendParser walks a send body. Its methods return false where the input is not of the
// shape decodeSendFast takes.
type sendParser struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (p *sendParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// take consumes c if it is the next byte.
func (p *sendParser) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// colon consumes a member's colon and the whitespace around it.
func (p *sendParser) colon() bool {
	p.space()
	if !p.take(':') {
		return false
	}
	p.space()
	return true
}

// next consumes whitespace, then the comma before another element (true, more) or the
// closing byte (true, done).
func (p *sendParser) next(closing byte) (more, ok bool) {
	p.space()
	if p.take(',') {
		p.space()
		return true, true
	}
	return false, p.take(closing)
}

// rawString consumes a string and returns its content between the quotes, unchecked.
func (p *sendParser) rawString() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	n := bytes.IndexByte(p.b[p.i:], '"')
	if n < 0 {
		return nil, false
	}
	s := p.b[p.i : p.i+n]
	p.i += n + 1
	return s, true
}

// plainString consumes a string whose content is its bytes: no escapes (which would also
// hide a quote from rawString), no control bytes (invalid JSON), no bytes of 0x80 and
// above (encoding/json replaces invalid UTF-8).
func (p *sendParser) plainString() ([]byte, bool) {
	s, ok := p.rawString()
	if !ok {
		return nil, false
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return nil, false
		}
	}
	return s, true
}

// messages consumes the array of messages.
func (p *sendParser) messages() ([]Message, bool) {
	if !p.take('[') {
		return nil, false
	}
	msgs := []Message{}
	p.space()
	if p.take(']') {
		return msgs, true
	}
	for {
		msgs = append(msgs, Message{})
		if !p.message(&msgs[len(msgs)-1]) {
			return nil, false
		}
		more, ok := p.next(']')
		if !ok {
			return nil, false
		}
		if !more {
			return msgs, true
		}
	}
}

// messageField is a field of a Message, as a bit, to refuse a field given twice:
// encoding/json would merge the two values.
type messageField int

// The fields of a Message.
const (
	fieldBody messageField = 1 << iota
	fieldTag
	fieldKeys
	fieldProperties
	fieldMessageGroup
	fieldDeliveryTime
	fieldLiteTopic
)

// message consumes one message object into m.
func (p *sendParser) message(m *Message) bool {
	if !p.take('{') {
		return false
	}
	p.space()
	if p.take('}') {
		return true
	}
	var seen messageField
	for {
		name, ok := p.plainString()
		if !ok || !p.colon() {
			return false
		}
		var field messageField
		switch string(name) {
		case "body":
			field = fieldBody
			m.Body, ok = p.body()
		case "tag":
			field = fieldTag
			m.Tag, ok = p.stringValue()
		case "keys":
			field = fieldKeys
			m.Keys, ok = p.keys()
		case "properties":
			field = fieldProperties
			m.Properties, ok = p.properties()
		case "messageGroup":
			field = fieldMessageGroup
			m.MessageGroup, ok = p.stringValue()
		case "deliveryTime":
			field = fieldDeliveryTime
			m.DeliveryTime, ok = p.time()
		case "liteTopic":
			field = fieldLiteTopic
			m.LiteTopic, ok = p.stringValue()
		default:
			return false
		}
		if !ok || seen&field != 0 {
			return false
		}
		seen |= field
		more, ok := p.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// body consumes a base64 body and decodes it, straight from the request bytes.
func (p *sendParser) body() ([]byte, bool) {
	s, ok := p.rawString()
	if !ok {
		return nil, false
	}
	// The decoder refuses every byte outside the alphabet but \r and \n, which it skips
	// and encoding/json refuses inside a string. A backslash, a control or a non-ASCII
	// byte is outside the alphabet: encoding/json would unescape or replace it first.
	if bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	// As encoding/json: not nil even for "".
	body := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(body, s)
	if err != nil {
		return nil, false
	}
	return body[:n], true
}

// stringValue consumes a plain string value.
func (p *sendParser) stringValue() (string, bool) {
	s, ok := p.plainString()
	return string(s), ok
}

// keys consumes an array of plain strings.
func (p *sendParser) keys() ([]string, bool) {
	if !p.take('[') {
		return nil, false
	}
	keys := []string{}
	p.space()
	if p.take(']') {
		return keys, true
	}
	for {
		k, ok := p.stringValue()
		if !ok {
			return nil, false
		}
		keys = append(keys, k)
		more, ok := p.next(']')
		if !ok {
			return nil, false
		}
		if !more {
			return keys, true
		}
	}
}

// properties consumes an object of plain strings. A name given twice keeps its last
// value, as in encoding/json.
func (p *sendParser) properties() (map[string]string, bool) {
	if !p.take('{') {
		return nil, false
	}
	props := map[string]string{}
	p.space()
	if p.take('}') {
		return props, true
	}
	for {
		name, ok := p.stringValue()
		if !ok || !p.colon() {
			return nil, false
		}
		value, ok := p.stringValue()
		if !ok {
			return nil, false
		}
		props[name] = value
		more, ok := p.next('}')
		if !ok {
			return nil, false
		}
		if !more {
			return props, true
		}
	}
}

// time consumes a plain string and parses it as encoding/json does: it hands the
// literal, quotes included, to time.Time.UnmarshalJSON.
func (p *sendParser) time() (*time.Time, bool) {
	start := p.i
	if _, ok := p.plainString(); !ok {
		return nil, false
	}
	t := new(time.Time)
	if err := t.UnmarshalJSON(p.b[start:p.i]); err != nil {
		return nil, false
	}
	return t, true
}
