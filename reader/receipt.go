package reader

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/floemq/floe/internal/sealed"
)

// Receipt is what a receipt handle names: one delivery of one message to one group.
type Receipt struct {
	DeliveryID int64
	Version    int
	QueueRef   int64
	Offset     int64
	// MessageID names the message, for its trace.
	MessageID string
}

// Receipt handles are tokens of package sealed, bound to the group and topic, over:
//
//	format byte (1) | uvarint delivery id | uvarint version | uvarint queue ref | uvarint offset |
//	uvarint length + message id
//
// Presented for another group or topic, a handle does not verify.
const (
	receiptFormat = 1
	maxHandleLen  = 512
	maxIDLen      = 255
)

// ErrInvalidReceipt is returned for a handle that is malformed, forged or altered.
var ErrInvalidReceipt = errors.New("invalid receipt handle")

// Signer signs and checks receipt handles with a server secret.
type Signer struct {
	sealer *sealed.Sealer
}

// NewSigner returns a signer over key (at least 16 bytes).
func NewSigner(key []byte) (*Signer, error) {
	sl, err := sealed.New(key)
	if err != nil {
		return nil, fmt.Errorf("receipt key: %w", err)
	}
	return &Signer{sealer: sl}, nil
}

// Encode returns the signed handle of a receipt for a group and topic.
func (s *Signer) Encode(group, topic string, r Receipt) string {
	id := r.MessageID
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	b := make([]byte, 0, 1+5*binary.MaxVarintLen64+len(id)+sealed.MACLen)
	b = append(b, receiptFormat)
	b = binary.AppendUvarint(b, uint64(r.DeliveryID))
	b = binary.AppendUvarint(b, uint64(r.Version))
	b = binary.AppendUvarint(b, uint64(r.QueueRef))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return s.sealer.Seal(b, group, topic)
}

// Decode checks a handle's signature for a group and topic and returns its receipt.
func (s *Signer) Decode(group, topic, handle string) (Receipt, error) {
	payload, ok := s.sealer.Open(handle, maxHandleLen, group, topic)
	if !ok || len(payload) < 1+4 || payload[0] != receiptFormat {
		return Receipt{}, ErrInvalidReceipt
	}
	rest := payload[1:]
	var vals [4]uint64
	for i := range vals {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return Receipt{}, ErrInvalidReceipt
		}
		vals[i], rest = v, rest[n:]
	}
	idLen, n := binary.Uvarint(rest)
	if n <= 0 || idLen > maxIDLen || uint64(len(rest)-n) != idLen || vals[1] > 1<<31 {
		return Receipt{}, ErrInvalidReceipt
	}
	return Receipt{DeliveryID: int64(vals[0]), Version: int(vals[1]), QueueRef: int64(vals[2]), Offset: int64(vals[3]),
		MessageID: string(rest[n:])}, nil
}
