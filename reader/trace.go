package reader

import (
	"context"
	"net/http"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
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

func (s *Service) handleTrace(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	tenant := httpapi.TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	if err := domain.CheckID("message id", c.Param("id")); err != nil {
		return err
	}
	evs, err := s.Trace(c.Request().Context(), topic, c.Param("id"))
	if err != nil {
		return err
	}
	shown := make([]trace.Event, 0, len(evs))
	for _, e := range evs {
		e.Topic = c.Param("topic")
		if e.Group != "" {
			g, ok := tenant.Visible(e.Group)
			if !ok {
				continue // never expected: groups subscribe within their namespace
			}
			e.Group = g
		}
		shown = append(shown, e)
	}
	evs = shown
	return c.JSON(http.StatusOK, map[string]any{"messageId": c.Param("id"), "topic": c.Param("topic"), "events": evs})
}
