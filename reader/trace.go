package reader

import (
	"context"
	"slices"
	"sort"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/segment"
	"github.com/floemq/floe/trace"
)

// maxTraceMessages bounds the trace messages one lookup reads.
const maxTraceMessages = 1000

// Trace returns the recorded path of a message, oldest event first. A topic that exists
// but does not trace its messages (or a message never seen) has no events.
func (s *Service) Trace(ctx context.Context, topic, id string) ([]trace.Event, error) {
	if _, err := s.queues(ctx, topic); err != nil {
		return nil, err
	}
	views, err := s.lookup(ctx, trace.Topic, bloom.KeyItem(id), func(r *segment.Record) bool {
		return slices.Contains(r.Keys, id)
	}, maxTraceMessages)
	if err != nil {
		return nil, err
	}
	events := []trace.Event{}
	for _, v := range views {
		evs, err := trace.Decode(v.Body)
		if err != nil {
			s.cfg.Logger.Warn("unreadable trace message", "messageId", v.MessageID, "err", err)
			continue
		}
		for _, e := range evs {
			if e.MessageID == id && e.Topic == topic {
				events = append(events, e)
			}
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events, nil
}
