package reader

import (
	"context"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// DeadLetter gives up on a received message now: the group's next receive moves it to the
// group's dead-letter topic (by reference) instead of delivering it again, and acks it in
// its source. It is what the RocketMQ clients do after their own retries of an orderly
// message run out (ForwardMessageToDeadLetterQueue).
func (c *Consumer) DeadLetter(ctx context.Context, group, topic, handle string) error {
	if _, err := c.resolve(ctx, group, topic); err != nil {
		return err
	}
	r, err := c.signer.Decode(group, topic, handle)
	if err != nil {
		return domain.Errorf(domain.ErrInvalidReceipt, "the receipt handle is not valid for this group and topic")
	}
	ok, err := c.store.RequeueDeadLetter(ctx, group, metadata.AckItem{DeliveryID: r.DeliveryID, Version: r.Version, QueueRef: r.QueueRef, Offset: r.Offset})
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return domain.Errorf(domain.ErrReceiptExpired, "the message was acked or handed out again since this handle was issued")
	}
	c.waker.Wake(topic)
	return nil
}
