package trace

import (
	"math"
	"strconv"

	"github.com/floemq/floe/internal/jsonwire"
)

// appendBody appends the JSON of b to dst, byte for byte what encoding/json writes for it
// (a test compares them), without reflection: every event a node records passes through
// here, four or so per message. It fails only where encoding/json fails (a time outside
// years 0-9999), and then returns the error.
func appendBody(dst []byte, b *body) ([]byte, error) {
	dst = append(dst, `{"g":`...)
	dst, err := jsonwire.AppendArray(dst, b.Groups, appendGroup)
	if err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

func appendGroup(dst []byte, g *group) ([]byte, error) {
	dst = append(dst, `{"c":`...)
	dst, err := appendEvent(dst, &g.Common)
	if err != nil {
		return nil, err
	}
	dst = append(dst, `,"m":`...)
	if dst, err = jsonwire.AppendArray(dst, g.Items, appendItem); err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

// appendEvent writes an Event's fields in declaration order, omitting the empty ones
// tagged omitempty.
func appendEvent(dst []byte, e *Event) ([]byte, error) {
	var err error
	dst = append(dst, `{"messageId":`...)
	dst = jsonwire.AppendString(dst, e.MessageID)
	dst = append(dst, `,"topic":`...)
	dst = jsonwire.AppendString(dst, e.Topic)
	dst = append(dst, `,"type":`...)
	dst = jsonwire.AppendString(dst, e.Type)
	dst = append(dst, `,"time":`...)
	if dst, err = jsonwire.AppendTime(dst, e.Time); err != nil {
		return nil, err
	}
	if e.Node != "" {
		dst = append(dst, `,"node":`...)
		dst = jsonwire.AppendString(dst, e.Node)
	}
	if e.QueueID != nil {
		dst = append(dst, `,"queueId":`...)
		dst = strconv.AppendInt(dst, int64(*e.QueueID), 10)
	}
	if e.Offset != nil {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendInt(dst, *e.Offset, 10)
	}
	if e.Object != "" {
		dst = append(dst, `,"object":`...)
		dst = jsonwire.AppendString(dst, e.Object)
	}
	if e.LatencyMs != 0 && !math.IsNaN(e.LatencyMs) && !math.IsInf(e.LatencyMs, 0) {
		dst = append(dst, `,"latencyMs":`...)
		dst = appendFloat(dst, e.LatencyMs)
	}
	if e.DeliveryTime != nil {
		dst = append(dst, `,"deliveryTime":`...)
		if dst, err = jsonwire.AppendTime(dst, *e.DeliveryTime); err != nil {
			return nil, err
		}
	}
	if e.Transaction != "" {
		dst = append(dst, `,"transactionId":`...)
		dst = jsonwire.AppendString(dst, e.Transaction)
	}
	if e.Group != "" {
		dst = append(dst, `,"group":`...)
		dst = jsonwire.AppendString(dst, e.Group)
	}
	if e.Consumer != "" {
		dst = append(dst, `,"consumer":`...)
		dst = jsonwire.AppendString(dst, e.Consumer)
	}
	if e.Attempt != 0 {
		dst = append(dst, `,"attempt":`...)
		dst = strconv.AppendInt(dst, int64(e.Attempt), 10)
	}
	return append(dst, '}'), nil
}

func appendItem(dst []byte, it *item) ([]byte, error) {
	dst = append(dst, `{"i":`...)
	dst = jsonwire.AppendString(dst, it.ID)
	if it.QueueID != nil {
		dst = append(dst, `,"q":`...)
		dst = strconv.AppendInt(dst, int64(*it.QueueID), 10)
	}
	if it.Offset != nil {
		dst = append(dst, `,"o":`...)
		dst = strconv.AppendInt(dst, *it.Offset, 10)
	}
	if it.Attempt != 0 {
		dst = append(dst, `,"a":`...)
		dst = strconv.AppendInt(dst, int64(it.Attempt), 10)
	}
	if it.DeliveryTime != nil {
		dst = append(dst, `,"d":`...)
		var err error
		if dst, err = jsonwire.AppendTime(dst, *it.DeliveryTime); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendFloat formats a finite float64 as encoding/json does: shortest representation,
// exponent form only below 1e-6 or from 1e21, with a one-digit negative exponent unpadded.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
