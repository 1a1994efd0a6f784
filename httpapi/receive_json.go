package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendReceiveResponse appends the JSON of ReceiveResponse{Messages: msgs} to b, byte for
// byte what encoding/json writes (without the Encoder's trailing newline), at a fraction
// of its cost: a receive answer is mostly base64 bodies and receipt handles, and
// reflection over every field of every message was about a tenth of a reader's CPU. It
// fails only where encoding/json fails (a time outside years 0-9999).
func AppendReceiveResponse(b []byte, msgs []ReceivedMessage) ([]byte, error) {
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
		if b, err = appendReceived(b, &msgs[i]); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

func appendReceived(b []byte, m *ReceivedMessage) ([]byte, error) {
	b = append(b, `{"messageId":`...)
	b = AppendJSONString(b, m.MessageID)
	b = append(b, `,"topic":`...)
	b = AppendJSONString(b, m.Topic)
	b = append(b, `,"queueId":`...)
	b = strconv.AppendInt(b, int64(m.QueueID), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, m.Offset, 10)
	if m.Tag != "" {
		b = append(b, `,"tag":`...)
		b = AppendJSONString(b, m.Tag)
	}
	if len(m.Keys) > 0 {
		b = append(b, `,"keys":[`...)
		for i, k := range m.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
		}
		b = append(b, ']')
	}
	if len(m.Properties) > 0 {
		// Rare, and encoding/json sorts the keys: let it.
		p, err := json.Marshal(m.Properties)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"properties":`...)
		b = append(b, p...)
	}
	b = append(b, `,"body":`...)
	if m.Body == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, m.Body)
		b = append(b, '"')
	}
	if m.MessageGroup != "" {
		b = append(b, `,"messageGroup":`...)
		b = AppendJSONString(b, m.MessageGroup)
	}
	if m.LiteTopic != "" {
		b = append(b, `,"liteTopic":`...)
		b = AppendJSONString(b, m.LiteTopic)
	}
	var err error
	b = append(b, `,"bornTime":`...)
	if b, err = AppendJSONTime(b, m.BornTime); err != nil {
		return nil, err
	}
	b = append(b, `,"storeTime":`...)
	if b, err = AppendJSONTime(b, m.StoreTime); err != nil {
		return nil, err
	}
	if m.DeliveryTime != nil {
		b = append(b, `,"deliveryTime":`...)
		if b, err = AppendJSONTime(b, *m.DeliveryTime); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"deliveryAttempt":`...)
	b = strconv.AppendInt(b, int64(m.DeliveryAttempt), 10)
	b = append(b, `,"receiptHandle":`...)
	b = AppendJSONString(b, m.ReceiptHandle)
	return append(b, '}'), nil
}

// AppendJSONString appends s as encoding/json quotes it (HTML characters escaped).
func AppendJSONString(b []byte, s string) []byte {
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

// AppendJSONTime appends t as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds, quoted); it fails where encoding/json does (a year outside 0-9999).
func AppendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
