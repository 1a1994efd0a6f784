package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"time"
	"unicode/utf8"
)

// This file encodes and decodes the bodies of the calls a producer or a consumer makes for
// every batch (send, receive, ack) without reflection. The benchmark's load generator
// shares its machine with the server, and encoding/json was most of its CPU: a receive
// answer of 32 messages of 1 KiB took 0.5 ms to decode, mostly in the scanner that walks
// every byte of every base64 body twice, against 0.09 ms here.
//
// The encoders write byte for byte what json.Marshal writes. The decoders accept a plain
// subset of JSON: the fields the client knows, each at most once, strings without escapes,
// integers without fraction or exponent, and nothing after the value but spaces. On any
// other input they give up and encoding/json decodes it, so the results are always exactly
// those of encoding/json (FuzzDecodeReceiveResponse and its siblings check this).

// decodeJSON decodes data into out as Client.do decodes an answer: the first JSON value,
// an empty body leaving out as it is.
func decodeJSON(data []byte, out any) error {
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// receiveResponse is the answer of a receive.
type receiveResponse struct {
	Messages []ReceivedMessage `json:"messages"`
}

// decodeReceiveResponse decodes the answer of a receive.
func decodeReceiveResponse(data []byte) ([]ReceivedMessage, error) {
	var out receiveResponse
	if decodeReceiveFast(data, &out) {
		return out.Messages, nil
	}
	out = receiveResponse{}
	if err := decodeJSON(data, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// sendResponse is the answer of a send.
type sendResponse struct {
	Messages []SendResult `json:"messages"`
}

// decodeSendResponse decodes the answer of a send.
func decodeSendResponse(data []byte) ([]SendResult, error) {
	var out sendResponse
	if decodeSendFast(data, &out) {
		return out.Messages, nil
	}
	out = sendResponse{}
	if err := decodeJSON(data, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// decodeAckResponse decodes the answer of an ack or a nack.
func decodeAckResponse(data []byte) ([]AckResult, error) {
	var out ackResults
	if decodeAckFast(data, &out) {
		return out.Results, nil
	}
	out = ackResults{}
	if err := decodeJSON(data, &out); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// wireDecoder reads a JSON document from b, one token at a time. Every method returns
// false when the input is not what it expects, or is outside the plain subset it reads;
// the caller then gives up.
type wireDecoder struct {
	b []byte
	i int // next byte to read
}

// skipSpace moves past JSON whitespace.
func (d *wireDecoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume reads byte c, after whitespace.
func (d *wireDecoder) consume(c byte) bool {
	d.skipSpace()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// null reads a null literal if one comes next.
func (d *wireDecoder) null() bool {
	d.skipSpace()
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (d *wireDecoder) end() bool {
	d.skipSpace()
	return d.i == len(d.b)
}

// next is called before each element of an object or array whose opening byte was read,
// n being the elements read so far. It returns true when an element follows (after its
// comma), false once the closing byte close is read.
func (d *wireDecoder) next(close byte, n int) (more, ok bool) {
	d.skipSpace()
	if d.i == len(d.b) {
		return false, false
	}
	if d.b[d.i] == close {
		d.i++
		return false, true
	}
	if n == 0 {
		return true, true
	}
	if d.b[d.i] != ',' {
		return false, false
	}
	d.i++
	return true, true
}

// key reads an object member's name and the colon after it.
func (d *wireDecoder) key() ([]byte, bool) {
	k, ok := d.rawString()
	return k, ok && d.consume(':')
}

// rawString reads a string without escape sequences and returns its bytes, which are its
// value. Invalid UTF-8, which encoding/json would replace, is refused.
func (d *wireDecoder) rawString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// string reads a string; when it equals prev, prev is returned rather than a copy, which
// saves an allocation for a value repeated in every message of a batch (the topic).
func (d *wireDecoder) string(prev string) (string, bool) {
	s, ok := d.rawString()
	if !ok {
		return "", false
	}
	if string(s) == prev {
		return prev, true
	}
	return string(s), true
}

// base64 reads a string of standard base64, as encoding/json decodes a []byte.
func (d *wireDecoder) base64() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	// The body is most of a message: find its end with IndexByte rather than a loop. Only
	// the alphabet and padding decode; the decoder skips '\r' and '\n' though, which a
	// JSON string cannot hold, and an escape ends in a byte it refuses.
	n := bytes.IndexByte(d.b[d.i:], '"')
	if n < 0 {
		return nil, false
	}
	s := d.b[d.i : d.i+n]
	d.i += n + 1
	if bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// int64 reads an integer of at most 18 digits, so that it cannot overflow.
func (d *wireDecoder) int64() (int64, bool) {
	d.skipSpace()
	neg := d.i < len(d.b) && d.b[d.i] == '-'
	if neg {
		d.i++
	}
	start := d.i
	var n int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// int reads an integer that fits an int.
func (d *wireDecoder) int() (int, bool) {
	n, ok := d.int64()
	if !ok || int64(int(n)) != n {
		return 0, false
	}
	return int(n), true
}

// time reads a time as encoding/json does: with time.Time's UnmarshalJSON.
func (d *wireDecoder) time(t *time.Time) bool {
	d.skipSpace()
	start := d.i
	if _, ok := d.rawString(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

// strings reads an array of strings.
func (d *wireDecoder) strings() ([]string, bool) {
	if !d.consume('[') {
		return nil, false
	}
	out := []string{}
	for {
		more, ok := d.next(']', len(out))
		if !ok {
			return nil, false
		}
		if !more {
			return out, true
		}
		s, ok := d.string("")
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
}

// stringMap reads an object of strings.
func (d *wireDecoder) stringMap() (map[string]string, bool) {
	if !d.consume('{') {
		return nil, false
	}
	out := map[string]string{}
	for n := 0; ; n++ {
		more, ok := d.next('}', n)
		if !ok {
			return nil, false
		}
		if !more {
			return out, true
		}
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		v, ok := d.string("")
		if !ok {
			return nil, false
		}
		out[string(k)] = v
	}
}

// list reads the whole document: the object {"<name>": [ … ]}, {"<name>": null} or {},
// then only whitespace. It calls start when the array opens, which must make the list non-nil
// (an empty array is an empty list to encoding/json, not a nil one), then elem for each
// element of the array.
func (d *wireDecoder) list(name string, start func(), elem func() bool) bool {
	if !d.consume('{') {
		return false
	}
	seen := false
	for n := 0; ; n++ {
		more, ok := d.next('}', n)
		if !ok {
			return false
		}
		if !more {
			return d.end()
		}
		k, ok := d.key()
		if !ok || string(k) != name || seen {
			return false
		}
		seen = true
		if d.null() {
			continue
		}
		if !d.consume('[') {
			return false
		}
		start()
		for i := 0; ; i++ {
			more, ok := d.next(']', i)
			if !ok {
				return false
			}
			if !more {
				break
			}
			if !elem() {
				return false
			}
		}
	}
}

// fields reads an object, calling field for each member with the index of its name in
// names, the member's value coming next; a name outside names, a repeated one, or a false
// from field fails. A member whose value is null is skipped, which leaves the field zero
// as encoding/json does.
func (d *wireDecoder) fields(names []string, field func(i int) bool) bool {
	if !d.consume('{') {
		return false
	}
	var seen uint64
	for n := 0; ; n++ {
		more, ok := d.next('}', n)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		k, ok := d.key()
		if !ok {
			return false
		}
		i := slices.IndexFunc(names, func(name string) bool { return name == string(k) })
		if i < 0 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		if d.null() {
			continue
		}
		if !field(i) {
			return false
		}
	}
}

// receivedFields are the JSON names of ReceivedMessage's fields.
var receivedFields = []string{
	"messageId", "topic", "queueId", "offset", "tag", "keys", "properties", "body",
	"messageGroup", "liteTopic", "bornTime", "storeTime", "deliveryTime", "deliveryAttempt",
	"receiptHandle",
}

// decodeReceiveFast decodes a receive answer into out, which must be zero, and reports
// whether it could.
func decodeReceiveFast(data []byte, out *receiveResponse) bool {
	d := &wireDecoder{b: data}
	var topic, tag string // the previous message's, usually the same
	return d.list("messages",
		func() { out.Messages = []ReceivedMessage{} },
		func() bool {
			out.Messages = append(out.Messages, ReceivedMessage{})
			m := &out.Messages[len(out.Messages)-1]
			return d.fields(receivedFields, func(i int) bool {
				var ok bool
				switch receivedFields[i] {
				case "messageId":
					m.MessageID, ok = d.string("")
				case "topic":
					m.Topic, ok = d.string(topic)
					topic = m.Topic
				case "queueId":
					m.QueueID, ok = d.int()
				case "offset":
					m.Offset, ok = d.int64()
				case "tag":
					m.Tag, ok = d.string(tag)
					tag = m.Tag
				case "keys":
					m.Keys, ok = d.strings()
				case "properties":
					m.Properties, ok = d.stringMap()
				case "body":
					m.Body, ok = d.base64()
				case "messageGroup":
					m.MessageGroup, ok = d.string("")
				case "liteTopic":
					m.LiteTopic, ok = d.string("")
				case "bornTime":
					ok = d.time(&m.BornTime)
				case "storeTime":
					ok = d.time(&m.StoreTime)
				case "deliveryTime":
					m.DeliveryTime = new(time.Time)
					ok = d.time(m.DeliveryTime)
				case "deliveryAttempt":
					m.DeliveryAttempt, ok = d.int()
				case "receiptHandle":
					m.ReceiptHandle, ok = d.string("")
				}
				return ok
			})
		})
}

// sendResultFields are the JSON names of SendResult's fields.
var sendResultFields = []string{"messageId", "queueId", "offset", "deliveryTime"}

// decodeSendFast decodes a send answer into out, which must be zero, and reports whether
// it could.
func decodeSendFast(data []byte, out *sendResponse) bool {
	d := &wireDecoder{b: data}
	return d.list("messages",
		func() { out.Messages = []SendResult{} },
		func() bool {
			out.Messages = append(out.Messages, SendResult{})
			r := &out.Messages[len(out.Messages)-1]
			return d.fields(sendResultFields, func(i int) bool {
				var ok bool
				switch sendResultFields[i] {
				case "messageId":
					r.MessageID, ok = d.string("")
				case "queueId":
					r.QueueID, ok = d.int()
				case "offset":
					r.Offset, ok = d.int64()
				case "deliveryTime":
					r.DeliveryTime = new(time.Time)
					ok = d.time(r.DeliveryTime)
				}
				return ok
			})
		})
}

// ackResultFields are the JSON names of AckResult's fields.
var ackResultFields = []string{"receiptHandle", "status"}

// decodeAckFast decodes an ack or nack answer into out, which must be zero, and reports
// whether it could.
func decodeAckFast(data []byte, out *ackResults) bool {
	d := &wireDecoder{b: data}
	return d.list("results",
		func() { out.Results = []AckResult{} },
		func() bool {
			out.Results = append(out.Results, AckResult{})
			r := &out.Results[len(out.Results)-1]
			return d.fields(ackResultFields, func(i int) bool {
				var ok bool
				switch ackResultFields[i] {
				case "receiptHandle":
					r.ReceiptHandle, ok = d.string("")
				case "status":
					var s string
					s, ok = d.string(string(AckOK))
					r.Status = AckStatus(s)
				}
				return ok
			})
		})
}

// sendRequest is the body of a send.
type sendRequest struct {
	Messages []Message `json:"messages"`
}

// encodeSendRequest returns the body of a send, json.Marshal's bytes.
func encodeSendRequest(msgs []Message) ([]byte, error) {
	size := len(`{"messages":[]}`)
	for i := range msgs {
		size += sendMessageSize(&msgs[i])
	}
	b, err := appendSendRequest(make([]byte, 0, size), msgs)
	if err != nil {
		// Only a delivery time outside years 0-9999 fails: let encoding/json say so.
		return json.Marshal(sendRequest{msgs})
	}
	return b, nil
}

// sendMessageSize is about the encoded size of m: exact but for escapes and properties.
func sendMessageSize(m *Message) int {
	n := len(`{"body":"","tag":"","keys":[],"properties":{},"messageGroup":"","deliveryTime":"2006-01-02T15:04:05.999999999Z07:00","liteTopic":""},`)
	n += base64.StdEncoding.EncodedLen(len(m.Body)) + len(m.Tag) + len(m.MessageGroup) + len(m.LiteTopic)
	for _, k := range m.Keys {
		n += len(k) + 3
	}
	for k, v := range m.Properties {
		n += len(k) + len(v) + 6
	}
	return n
}

// appendSendRequest appends the body of a send to b, byte for byte what json.Marshal
// writes for sendRequest{msgs}. It fails only where json.Marshal fails.
func appendSendRequest(b []byte, msgs []Message) ([]byte, error) {
	b = append(b, `{"messages":`...)
	if msgs == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	var err error
	for i := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendMessage(b, &msgs[i]); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

// appendMessage appends m as json.Marshal writes it: fields in declaration order, empty
// ones left out.
func appendMessage(b []byte, m *Message) ([]byte, error) {
	sep := byte('{') // before the first field, then a comma
	field := func(name string) {
		b = append(b, sep, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		sep = ','
	}
	if len(m.Body) > 0 {
		field("body")
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, m.Body)
		b = append(b, '"')
	}
	if m.Tag != "" {
		field("tag")
		b = appendJSONString(b, m.Tag)
	}
	if len(m.Keys) > 0 {
		field("keys")
		b = append(b, '[')
		for i, k := range m.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
		}
		b = append(b, ']')
	}
	if len(m.Properties) > 0 {
		// Rare in bulk, and encoding/json sorts the keys: let it.
		p, err := json.Marshal(m.Properties)
		if err != nil {
			return nil, err
		}
		field("properties")
		b = append(b, p...)
	}
	if m.MessageGroup != "" {
		field("messageGroup")
		b = appendJSONString(b, m.MessageGroup)
	}
	if m.DeliveryTime != nil {
		field("deliveryTime")
		var err error
		b = append(b, '"')
		if b, err = m.DeliveryTime.AppendText(b); err != nil {
			return nil, err
		}
		b = append(b, '"')
	}
	if m.LiteTopic != "" {
		field("liteTopic")
		b = appendJSONString(b, m.LiteTopic)
	}
	if sep == '{' {
		b = append(b, '{')
	}
	return append(b, '}'), nil
}

// encodeHandles returns the body of an ack or a nack, json.Marshal's bytes.
func encodeHandles(handles []string) []byte {
	if handles == nil {
		return []byte(`{"receiptHandles":null}`)
	}
	size := len(`{"receiptHandles":[]}`)
	for _, h := range handles {
		size += len(h) + 3
	}
	b := make([]byte, 0, size)
	b = append(b, `{"receiptHandles":[`...)
	for i, h := range handles {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, h)
	}
	return append(b, "]}"...)
}

// appendJSONString appends s quoted as encoding/json quotes it, HTML characters escaped.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
