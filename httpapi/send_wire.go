package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/floemq/floe/internal/b64"
)

// messageWire is a message as the HTTP API takes it: Message plus the inputs that are
// folded into it (bodyText into Body, delaySeconds into DeliveryTime), with the body and
// the time kept raw so that an error can name the message and the field.
type messageWire struct {
	Body         *string           `json:"body"`
	BodyText     *string           `json:"bodyText"`
	Tag          string            `json:"tag"`
	Keys         []string          `json:"keys"`
	Properties   map[string]string `json:"properties"`
	MessageGroup string            `json:"messageGroup"`
	DeliveryTime json.RawMessage   `json:"deliveryTime"`
	DelaySeconds *int64            `json:"delaySeconds"`
	LiteTopic    string            `json:"liteTopic"`
	Priority     *int              `json:"priority"`
	// DeduplicationID is named so in the API, as SQS names it.
	DeduplicationID string `json:"deduplicationId"`
}

// TimeHint says in plain words what a time field takes.
const TimeHint = `an RFC 3339 time with a time zone, such as "2026-12-07T00:00:00Z" or "2026-12-07T09:00:00+09:00"`

// UnmarshalJSON decodes a send body as encoding/json would decode SendRequest's fields,
// and answers bad input with a 400 naming the message and the field
// (messages[2].body: not base64).
func (r *SendRequest) UnmarshalJSON(b []byte) error {
	var wire struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := strictUnmarshal(b, &wire); err != nil {
		return fieldError("", err)
	}
	r.Messages = nil
	if wire.Messages == nil {
		return nil
	}
	r.Messages = make([]Message, len(wire.Messages))
	for i, raw := range wire.Messages {
		if err := r.Messages[i].unmarshal(raw, fmt.Sprintf("messages[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalJSON decodes one message, folding bodyText into Body and delaySeconds into
// DeliveryTime, and answers bad input with a 400 naming the field.
func (m *Message) UnmarshalJSON(b []byte) error {
	return m.unmarshal(b, "")
}

// unmarshal is UnmarshalJSON with prefix, the message's path in the request, before the
// field names of errors.
func (m *Message) unmarshal(b []byte, prefix string) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var w messageWire
	if err := strictUnmarshal(b, &w); err != nil {
		return fieldError(prefix, err)
	}
	return w.fold(m, prefix)
}

// fold writes the message w describes into m.
func (w *messageWire) fold(m *Message, prefix string) error {
	bad := func(field, format string, args ...any) error {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%s%s: %s", prefix, field, fmt.Sprintf(format, args...))
	}
	m.Tag, m.Keys, m.Properties, m.MessageGroup, m.LiteTopic, m.Priority = w.Tag, w.Keys, w.Properties, w.MessageGroup, w.LiteTopic, w.Priority
	m.DeduplicationID = w.DeduplicationID
	switch {
	case w.Body != nil && w.BodyText != nil:
		return bad("bodyText", "give body (base64) or bodyText (plain text), not both")
	case w.Body != nil:
		body, err := b64.DecodeString(*w.Body)
		if err != nil {
			return bad("body", "not base64 (%v); send plain text as bodyText instead", err)
		}
		m.Body = body
	case w.BodyText != nil:
		m.Body = []byte(*w.BodyText)
	}
	if len(w.DeliveryTime) > 0 && !bytes.Equal(w.DeliveryTime, []byte("null")) {
		if w.DelaySeconds != nil {
			return bad("delaySeconds", "give deliveryTime or delaySeconds, not both")
		}
		var t time.Time
		if err := json.Unmarshal(w.DeliveryTime, &t); err != nil {
			return bad("deliveryTime", "%s is not %s; or give delaySeconds", w.DeliveryTime, TimeHint)
		}
		m.DeliveryTime = &t
	}
	if w.DelaySeconds != nil {
		if *w.DelaySeconds < 0 {
			return bad("delaySeconds", "must not be negative, got %d", *w.DelaySeconds)
		}
		if *w.DelaySeconds > maxDelaySecondsInput {
			return bad("delaySeconds", "%d is too far ahead", *w.DelaySeconds)
		}
		t := time.Now().Add(time.Duration(*w.DelaySeconds) * time.Second).UTC()
		m.DeliveryTime = &t
	}
	return nil
}

// maxDelaySecondsInput bounds delaySeconds before it becomes a time (a century); the
// node's own --max-delay limit is checked where every delivery time is.
const maxDelaySecondsInput = 100 * 365 * 24 * 3600

// strictUnmarshal is json.Unmarshal refusing unknown fields, as DecodeJSON does.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// fieldError turns an encoding/json error inside a send body into a 400 that names the
// field, prefix being the path of the object it is in.
func fieldError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%s%s: want %s, got %s", prefix, te.Field, jsonKind(te.Type), te.Value)
	}
	if prefix == "" {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%v", err)
	}
	return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%s %v", prefix[:len(prefix)-1]+":", err)
}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Map:
		return "an object of strings"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}
