package httpapi

import "github.com/floemq/floe/reader"

// ChangeInvisibleBatchRequest is the body of POST
// /v1/groups/{group}/topics/{topic}/change-invisible-batch.
type ChangeInvisibleBatchRequest struct {
	Entries []ChangeInvisibleRequest `json:"entries"`
}

// ChangeInvisibleResult is the outcome of one entry of a batch change-invisible: the
// handle given, its status (OK, EXPIRED or INVALID, as for ack) and, when OK, the new
// handle (the given one stops working).
type ChangeInvisibleResult = reader.InvisibleChangeResult

// ChangeInvisibleBatchResponse answers a batch change-invisible, one result per entry, in
// order.
type ChangeInvisibleBatchResponse struct {
	Results []ChangeInvisibleResult `json:"results"`
}
