package client

import (
	"context"
	"fmt"
	"net/http"
)

// InvisibleChange asks to hide one received message for Seconds from now.
type InvisibleChange struct {
	// ReceiptHandle names the received message.
	ReceiptHandle string `json:"receiptHandle"`
	// Seconds is the new invisible time, from now.
	Seconds int `json:"invisibleSeconds"`
}

// InvisibleChangeResult is the outcome of one InvisibleChange.
type InvisibleChangeResult struct {
	// ReceiptHandle is the handle given.
	ReceiptHandle string `json:"receiptHandle"`
	// Status is AckOK, AckExpired (settled or handed out again since) or AckInvalid.
	Status AckStatus `json:"status"`
	// NewReceiptHandle replaces the given handle when Status is AckOK.
	NewReceiptHandle string `json:"newReceiptHandle,omitempty"`
}

// ChangeInvisibleBatch hides several received messages for new durations in one call
// (POST /v1/groups/{group}/topics/{topic}/change-invisible-batch), one result per change,
// in order.
func (c *Client) ChangeInvisibleBatch(ctx context.Context, group, topic string, changes []InvisibleChange) ([]InvisibleChangeResult, error) {
	in := struct {
		Entries []InvisibleChange `json:"entries"`
	}{changes}
	var out struct {
		Results []InvisibleChangeResult `json:"results"`
	}
	if _, err := c.do(ctx, http.MethodPost, groupTopicPath(group, topic, "change-invisible-batch"), nil, in, &out); err != nil {
		return nil, fmt.Errorf("changing invisible times on topic %s for group %s: %w", topic, group, err)
	}
	return out.Results, nil
}
