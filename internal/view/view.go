// Package view turns stored records into the domain's message views, for the roles that
// read messages (reader, ingest's transaction checks).
package view

import (
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/segment"
)

// Of turns a stored record into its message view.
func Of(topic string, queueID int, offset int64, r *segment.Record) domain.MessageView {
	v := domain.MessageView{
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
