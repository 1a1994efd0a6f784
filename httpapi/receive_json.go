package httpapi

import (
	"encoding/json"
	"strconv"

	"github.com/floemq/floe/internal/b64"
	"github.com/floemq/floe/internal/jsonwire"
)

// AppendReceiveResponse appends the JSON of ReceiveResponse{Messages: msgs} to b, byte for
// byte what encoding/json writes (without the Encoder's trailing newline), at a fraction
// of its cost: a receive answer is mostly base64 bodies and receipt handles, and
// reflection over every field of every message was about a tenth of a reader's CPU. It
// fails only where encoding/json fails (a time outside years 0-9999).
func AppendReceiveResponse(b []byte, msgs []ReceivedMessage) ([]byte, error) {
	b = append(b, `{"messages":`...)
	b, err := jsonwire.AppendArray(b, msgs, appendReceived)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendReceived(b []byte, m *ReceivedMessage) ([]byte, error) {
	b = append(b, `{"messageId":`...)
	b = jsonwire.AppendString(b, m.MessageID)
	b = append(b, `,"topic":`...)
	b = jsonwire.AppendString(b, m.Topic)
	b = append(b, `,"queueId":`...)
	b = strconv.AppendInt(b, int64(m.QueueID), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, m.Offset, 10)
	if m.Tag != "" {
		b = append(b, `,"tag":`...)
		b = jsonwire.AppendString(b, m.Tag)
	}
	if len(m.Keys) > 0 {
		b = append(b, `,"keys":[`...)
		for i, k := range m.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonwire.AppendString(b, k)
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
		b = b64.AppendEncode(b, m.Body)
		b = append(b, '"')
	}
	if m.MessageGroup != "" {
		b = append(b, `,"messageGroup":`...)
		b = jsonwire.AppendString(b, m.MessageGroup)
	}
	if m.LiteTopic != "" {
		b = append(b, `,"liteTopic":`...)
		b = jsonwire.AppendString(b, m.LiteTopic)
	}
	var err error
	b = append(b, `,"bornTime":`...)
	if b, err = jsonwire.AppendTime(b, m.BornTime); err != nil {
		return nil, err
	}
	b = append(b, `,"storeTime":`...)
	if b, err = jsonwire.AppendTime(b, m.StoreTime); err != nil {
		return nil, err
	}
	if m.DeliveryTime != nil {
		b = append(b, `,"deliveryTime":`...)
		if b, err = jsonwire.AppendTime(b, *m.DeliveryTime); err != nil {
			return nil, err
		}
	}
	if m.Priority != nil {
		b = append(b, `,"priority":`...)
		b = strconv.AppendInt(b, int64(*m.Priority), 10)
	}
	b = append(b, `,"deliveryAttempt":`...)
	b = strconv.AppendInt(b, int64(m.DeliveryAttempt), 10)
	b = append(b, `,"receiptHandle":`...)
	b = jsonwire.AppendString(b, m.ReceiptHandle)
	return append(b, '}'), nil
}
