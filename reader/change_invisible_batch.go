package reader

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

// ChangeInvisibleBatch hides received messages for new durations from now, each entry on
// its own: a forged handle, or one of another group or topic, is INVALID; one whose message
// was settled or handed out again since is EXPIRED; otherwise OK with a new handle (the old
// one stops working). Bad input (no entries, more than a receive may return, an invisible
// time out of range) refuses the whole call and changes nothing.
//
// Each entry is one short Postgres transaction, as a nack of it is (a message that shares
// its delivery row with others is split off into a row of its own).
func (c *Consumer) ChangeInvisibleBatch(ctx context.Context, group, topic string, entries []httpapi.ChangeInvisibleRequest) ([]httpapi.ChangeInvisibleResult, error) {
	if len(entries) == 0 || len(entries) > MaxMaxMessages {
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "entries must hold 1-%d entries (a receive returns at most %d messages)", MaxMaxMessages, MaxMaxMessages)
	}
	for i, e := range entries {
		if c.checkInvisible(time.Duration(e.InvisibleSeconds)*time.Second) != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "entries[%d].invisibleSeconds must be %d-%d, got %d",
				i, int(c.cfg.MinInvisible.Seconds()), int(MaxInvisible.Seconds()), e.InvisibleSeconds)
		}
	}
	if _, err := c.resolve(ctx, group, topic); err != nil {
		return nil, err
	}
	out := make([]httpapi.ChangeInvisibleResult, len(entries))
	for i, e := range entries {
		out[i] = httpapi.ChangeInvisibleResult{ReceiptHandle: e.ReceiptHandle, Status: StatusInvalid}
		r, err := c.signer.Decode(group, topic, e.ReceiptHandle)
		if err != nil {
			continue
		}
		invisible := time.Duration(e.InvisibleSeconds) * time.Second
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

func (c *Consumer) handleChangeInvisibleBatch(ctx echo.Context) error {
	var req httpapi.ChangeInvisibleBatchRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := httpapi.TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	res, err := c.ChangeInvisibleBatch(ctx.Request().Context(), group, topic, req.Entries)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, httpapi.ChangeInvisibleBatchResponse{Results: res})
}
