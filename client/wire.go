package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/floemq/floe/internal/b64"
	"github.com/floemq/floe/internal/jsonwire"
)

// This file encodes and decodes the bodies of the calls a producer or a consumer makes for
// every batch (send, receive, ack) without reflection. The benchmark's load generator
// shares its machine with the server, and encoding/json was most of its CPU: a receive
// answer of 32 messages of 1 KiB took 0.5 ms to decode, mostly in the scanner that walks
// every byte of every base64 body twice, against 0.09 ms here.
//
// The encoders write byte for byte what json.Marshal writes. The decoders read, with a
// jsonwire.Reader, the plain subset of JSON that package describes, and only the fields the
// client knows. On any other input they give up and encoding/json decodes it, so the
// results are always exactly those of encoding/json (FuzzDecodeReceiveResponse and its
// siblings check this).

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

// decodeList reads the whole document of an answer: the object {"<name>": [ … ]},
// {"<name>": null} or {}, then only whitespace. It calls start when the array opens,
// which must make the list non-nil (an empty array is an empty list to encoding/json, not
// a nil one), then elem for each element of the array.
func decodeList(d *jsonwire.Reader, name string, start func(), elem func() bool) bool {
	return d.Object([]string{name}, func(int) bool {
		start()
		return d.Array(elem)
	}) && d.End()
}

// receivedFields are the JSON names of ReceivedMessage's fields.
var receivedFields = []string{
	"messageId", "topic", "queueId", "offset", "tag", "keys", "properties", "body",
	"messageGroup", "liteTopic", "bornTime", "storeTime", "deliveryTime", "priority", "deliveryAttempt",
	"receiptHandle",
}

// decodeReceiveFast decodes a receive answer into out, which must be zero, and reports
// whether it could.
func decodeReceiveFast(data []byte, out *receiveResponse) bool {
	d := jsonwire.NewReader(data)
	var topic, tag string // the previous message's, usually the same
	return decodeList(d, "messages",
		func() { out.Messages = []ReceivedMessage{} },
		func() bool {
			out.Messages = append(out.Messages, ReceivedMessage{})
			m := &out.Messages[len(out.Messages)-1]
			return d.Object(receivedFields, func(i int) bool {
				var ok bool
				switch receivedFields[i] {
				case "messageId":
					m.MessageID, ok = d.String("")
				case "topic":
					m.Topic, ok = d.String(topic)
					topic = m.Topic
				case "queueId":
					m.QueueID, ok = d.Int()
				case "offset":
					m.Offset, ok = d.Int64()
				case "tag":
					m.Tag, ok = d.String(tag)
					tag = m.Tag
				case "keys":
					m.Keys, ok = d.Strings()
				case "properties":
					m.Properties, ok = d.StringMap()
				case "body":
					m.Body, ok = d.Base64()
				case "messageGroup":
					m.MessageGroup, ok = d.String("")
				case "liteTopic":
					m.LiteTopic, ok = d.String("")
				case "bornTime":
					ok = d.Time(&m.BornTime)
				case "storeTime":
					ok = d.Time(&m.StoreTime)
				case "deliveryTime":
					m.DeliveryTime = new(time.Time)
					ok = d.Time(m.DeliveryTime)
				case "priority":
					m.Priority = new(int)
					*m.Priority, ok = d.Int()
				case "deliveryAttempt":
					m.DeliveryAttempt, ok = d.Int()
				case "receiptHandle":
					m.ReceiptHandle, ok = d.String("")
				}
				return ok
			})
		})
}

// sendResultFields are the JSON names of SendResult's fields.
// A duplicate's answer ("duplicate": true) is left to encoding/json: it is rare.
var sendResultFields = []string{"messageId", "queueId", "offset", "deliveryTime", "recallHandle"}

// decodeSendFast decodes a send answer into out, which must be zero, and reports whether
// it could.
func decodeSendFast(data []byte, out *sendResponse) bool {
	d := jsonwire.NewReader(data)
	return decodeList(d, "messages",
		func() { out.Messages = []SendResult{} },
		func() bool {
			out.Messages = append(out.Messages, SendResult{})
			r := &out.Messages[len(out.Messages)-1]
			return d.Object(sendResultFields, func(i int) bool {
				var ok bool
				switch sendResultFields[i] {
				case "messageId":
					r.MessageID, ok = d.String("")
				case "queueId":
					r.QueueID, ok = d.Int()
				case "offset":
					r.Offset, ok = d.Int64()
				case "deliveryTime":
					r.DeliveryTime = new(time.Time)
					ok = d.Time(r.DeliveryTime)
				case "recallHandle":
					r.RecallHandle, ok = d.String("")
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
	d := jsonwire.NewReader(data)
	return decodeList(d, "results",
		func() { out.Results = []AckResult{} },
		func() bool {
			out.Results = append(out.Results, AckResult{})
			r := &out.Results[len(out.Results)-1]
			return d.Object(ackResultFields, func(i int) bool {
				var ok bool
				switch ackResultFields[i] {
				case "receiptHandle":
					r.ReceiptHandle, ok = d.String("")
				case "status":
					var s string
					s, ok = d.String(string(AckOK))
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
	n := len(`{"body":"","tag":"","keys":[],"properties":{},"messageGroup":"","deliveryTime":"2006-01-02T15:04:05.999999999Z07:00","liteTopic":"","priority":-2147483648,"deduplicationId":""},`)
	n += b64.EncodedLen(len(m.Body)) + len(m.Tag) + len(m.MessageGroup) + len(m.LiteTopic) + len(m.DeduplicationID)
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
	b, err := jsonwire.AppendArray(b, msgs, appendMessage)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
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
		b = b64.AppendEncode(b, m.Body)
		b = append(b, '"')
	}
	if m.Tag != "" {
		field("tag")
		b = jsonwire.AppendString(b, m.Tag)
	}
	if len(m.Keys) > 0 {
		field("keys")
		b = append(b, '[')
		for i, k := range m.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonwire.AppendString(b, k)
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
		b = jsonwire.AppendString(b, m.MessageGroup)
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
		b = jsonwire.AppendString(b, m.LiteTopic)
	}
	if m.Priority != nil {
		field("priority")
		b = strconv.AppendInt(b, int64(*m.Priority), 10)
	}
	if m.DeduplicationID != "" {
		field("deduplicationId")
		b = jsonwire.AppendString(b, m.DeduplicationID)
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
		b = jsonwire.AppendString(b, h)
	}
	return append(b, "]}"...)
}
