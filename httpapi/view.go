package httpapi

import "github.com/floemq/floe/segment"

// ViewOf turns a stored record into the API's message view.
func ViewOf(topic string, queueID int, offset int64, r *segment.Record) MessageView {
	v := MessageView{
		MessageID:    r.MessageID,
		Topic:        topic,
		QueueID:      queueID,
		Offset:       offset,
		Tag:          r.Tag,
		Keys:         r.Keys,
		Properties:   r.Properties,
		Body:         r.Body,
		MessageGroup: r.MessageGroup,
		LiteTopic:    r.LiteTopic,
		BornTime:     r.BornTime.UTC(),
		StoreTime:    r.StoreTime.UTC(),
	}
	if !r.DeliveryTime.IsZero() {
		t := r.DeliveryTime.UTC()
		v.DeliveryTime = &t
	}
	return v
}
