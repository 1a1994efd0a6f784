package reader

import (
	"context"
	"fmt"
	"time"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// InvisibleChange asks to hide one received message for Invisible from now.
type InvisibleChange struct {
	ReceiptHandle string
	Invisible     time.Duration
}

// InvisibleChangeResult is the outcome of one InvisibleChange: the handle given, its
// status (StatusOK, StatusExpired or StatusInvalid, as for ack) and, when OK, the new
// handle (the given one stops working).
type InvisibleChangeResult struct {
	ReceiptHandle    string `json:"receiptHandle"`
	Status           string `json:"status"`
	NewReceiptHandle string `json:"newReceiptHandle,omitempty"`
}

// ChangeInvisibleBatch hides received messages for new durations from now, each entry on
// its own: a forged handle, or one of another group or topic, is INVALID; one whose message
// was settled or handed out again since is EXPIRED; otherwise OK with a new handle (the old
// one stops working). Bad input (no entries, more than a receive may return, an invisible
// time out of range) refuses the whole call and changes nothing.
//
// Each entry is one short Postgres transaction, as a nack of it is (a message that shares
// its delivery row with others is split off into a row of its own).
func (c *Consumer) ChangeInvisibleBatch(ctx context.Context, group, topic string, entries []InvisibleChange) ([]InvisibleChangeResult, error) {
	if len(entries) == 0 || len(entries) > MaxMaxMessages {
		return nil, domain.Errorf(domain.ErrBadRequest, "entries must hold 1-%d entries (a receive returns at most %d messages)", MaxMaxMessages, MaxMaxMessages)
	}
	for i, e := range entries {
		if c.checkInvisible(e.Invisible) != nil {
			return nil, domain.Errorf(domain.ErrBadRequest, "entries[%d].invisibleSeconds must be %d-%d, got %d",
				i, int(c.cfg.MinInvisible.Seconds()), int(MaxInvisible.Seconds()), int(e.Invisible.Seconds()))
		}
	}
	if _, err := c.resolve(ctx, group, topic); err != nil {
		return nil, err
	}
	out := make([]InvisibleChangeResult, len(entries))
	for i, e := range entries {
		out[i] = InvisibleChangeResult{ReceiptHandle: e.ReceiptHandle, Status: StatusInvalid}
		r, err := c.signer.Decode(group, topic, e.ReceiptHandle)
		if err != nil {
			continue
		}
		invisible := e.Invisible
		id, version, ok, err := c.store.Requeue(ctx, group, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset},
			func(int) time.Duration { return invisible })
		if err != nil {
			return nil, unavailable(fmt.Errorf("changing the invisible time of entry %d: %w", i, err))
		}
		out[i].Status = StatusExpired
		if ok {
			out[i].Status = StatusOK
			out[i].NewReceiptHandle = c.signer.Encode(group, topic, Receipt{DeliveryID: id, Version: version, QueueRef: r.QueueRef, Offset: r.Offset, MessageID: r.MessageID})
		}
	}
	return out, nil
}
