package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/internal/sealed"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/namespace"
	"github.com/floemq/floe/trace"
)

// RecallHandle is what a recall handle names: one delayed message, by where it is stored.
type RecallHandle struct {
	QueueRef int64
	QueueID  int
	// ObjectKey is the segment of the producer's flush.
	ObjectKey string
	// Record is the message's index in the queue's delayed chunk of that segment.
	Record       int
	DeliveryTime time.Time
	MessageID    string
}

// Recall handles are tokens of package sealed, bound to "recall" and the topic (its stored
// name), over:
//
//	format byte (1) | uvarint queue ref | uvarint queue id | uvarint record |
//	varint delivery time (Unix ns) | uvarint length + object key | uvarint length + message id
//
// Presented for another topic, a handle does not verify.
const (
	recallFormat    = 1
	maxRecallHandle = 1024
	maxRecallString = 255
)

// ErrInvalidRecallHandle is returned for a handle that is malformed, forged or altered.
var ErrInvalidRecallHandle = errors.New("invalid recall handle")

// RecallSigner signs and checks recall handles with a server secret.
type RecallSigner struct {
	sealer *sealed.Sealer
}

// NewRecallSigner returns a signer over key (at least 16 bytes).
func NewRecallSigner(key []byte) (*RecallSigner, error) {
	sl, err := sealed.New(key)
	if err != nil {
		return nil, fmt.Errorf("recall key: %w", err)
	}
	return &RecallSigner{sealer: sl}, nil
}

// Encode returns the signed handle of a delayed message of topic.
func (s *RecallSigner) Encode(topic string, h RecallHandle) string {
	b := make([]byte, 0, 64+len(h.ObjectKey)+len(h.MessageID)+sealed.MACLen)
	b = append(b, recallFormat)
	b = binary.AppendUvarint(b, uint64(h.QueueRef))
	b = binary.AppendUvarint(b, uint64(h.QueueID))
	b = binary.AppendUvarint(b, uint64(h.Record))
	b = binary.AppendVarint(b, h.DeliveryTime.UnixNano())
	for _, str := range []string{h.ObjectKey, h.MessageID} {
		if len(str) > maxRecallString {
			str = str[:maxRecallString]
		}
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	return s.sealer.Seal(b, "recall", topic)
}

// Decode checks a handle's signature for topic and returns what it names. Any input that
// is not a handle this server signed for topic gives ErrInvalidRecallHandle.
func (s *RecallSigner) Decode(topic, handle string) (RecallHandle, error) {
	payload, ok := s.sealer.Open(handle, maxRecallHandle, "recall", topic)
	if !ok || payload[0] != recallFormat {
		return RecallHandle{}, ErrInvalidRecallHandle
	}
	rest := payload[1:]
	var vals [3]uint64
	for i := range vals {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return RecallHandle{}, ErrInvalidRecallHandle
		}
		vals[i], rest = v, rest[n:]
	}
	if vals[1] > 1<<31 || vals[2] > 1<<31 {
		return RecallHandle{}, ErrInvalidRecallHandle
	}
	ns, n := binary.Varint(rest)
	if n <= 0 {
		return RecallHandle{}, ErrInvalidRecallHandle
	}
	rest = rest[n:]
	var strs [2]string
	for i := range strs {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > maxRecallString || uint64(len(rest)-n) < l {
			return RecallHandle{}, ErrInvalidRecallHandle
		}
		strs[i], rest = string(rest[n:n+int(l)]), rest[n+int(l):]
	}
	if len(rest) != 0 || strs[0] == "" {
		return RecallHandle{}, ErrInvalidRecallHandle
	}
	return RecallHandle{QueueRef: int64(vals[0]), QueueID: int(vals[1]), Record: int(vals[2]),
		DeliveryTime: time.Unix(0, ns).UTC(), ObjectKey: strs[0], MessageID: strs[1]}, nil
}

// Recall takes back a delayed message of topic (its stored name) before its delivery
// time: it is never delivered to any group. It returns the message id. Recalling again is
// a no-op. Errors are *domain.Error: ErrTopicNotFound, ErrInvalidRecallHandle, ErrTooLate
// once the delivery time passed.
func (s *Service) Recall(ctx context.Context, topic, handle string) (string, error) {
	if err := domain.CheckName("topic", namespace.Local(topic)); err != nil {
		return "", err
	}
	ti, err := s.topics.get(ctx, topic)
	if errors.Is(err, metadata.ErrNotFound) {
		return "", domain.Errorf(domain.ErrTopicNotFound, "topic %s does not exist", topic)
	} else if err != nil {
		return "", unavailable("reading topic %s: %v", topic, err)
	}
	h, err := s.recall.Decode(topic, handle)
	if err != nil {
		s.metrics.recalls.WithLabelValues("invalid").Inc()
		return "", domain.Errorf(domain.ErrInvalidRecallHandle, "the recall handle is malformed, altered or not of topic %s", topic)
	}
	already, err := s.store.MessageRecall(ctx, metadata.MessageRecallParams{QueueRef: h.QueueRef, ObjectKey: h.ObjectKey,
		Record: h.Record, MessageID: h.MessageID, DeliveryTime: h.DeliveryTime})
	switch {
	case errors.Is(err, metadata.ErrRecallTooLate):
		s.metrics.recalls.WithLabelValues("too_late").Inc()
		return "", domain.Errorf(domain.ErrTooLate, "message %s was due at %s: it is delivered and can no longer be recalled", h.MessageID, h.DeliveryTime.Format(time.RFC3339Nano))
	case errors.Is(err, metadata.ErrNotFound):
		s.metrics.recalls.WithLabelValues("not_found").Inc()
		return "", domain.Errorf(domain.ErrMessageNotFound, "message %s is no longer stored", h.MessageID)
	case err != nil:
		return "", unavailable("recalling message %s: %v", h.MessageID, err)
	}
	if already {
		s.metrics.recalls.WithLabelValues("already").Inc()
		return h.MessageID, nil
	}
	s.metrics.recalls.WithLabelValues("recalled").Inc()
	if ti.topic.Trace && s.tracer != nil {
		due := h.DeliveryTime
		s.tracer.Record([]trace.Event{{MessageID: h.MessageID, Topic: topic, Type: trace.Recalled, Time: s.cfg.Now(), DeliveryTime: &due}})
	}
	return h.MessageID, nil
}
