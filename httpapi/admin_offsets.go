package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func (s *adminRoutes) registerOperate(e *echo.Echo) {
	e.PUT("/v1/groups/:group/topics/:topic/queues/:queue/offset", s.setQueueOffset)
	e.POST("/v1/groups/:group/skip-backlog", s.skipBacklog)
	e.POST("/v1/groups/:group/copy-offsets/:from", s.copyOffsets)
	s.registerRedrive(e)
	s.registerResend(e)
}

// setQueueOffset moves a group's offset on one queue: the group consumes that queue again
// from the offset (back or forward), and its in-flight messages there are forgotten.
func (s *adminRoutes) setQueueOffset(c echo.Context) error {
	var req QueueOffsetRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	if req.Offset == nil {
		return badRequest("offset is required")
	}
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, topic, err := tenant.GroupTopic(c)
	if err != nil {
		return err
	}
	queueID, err := strconv.Atoi(c.Param("queue"))
	if err != nil || queueID < 0 {
		return badRequest("queue must be a queue id (an integer >= 0), not %q", c.Param("queue"))
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	q, err := s.store.QueueGet(ctx, topic, queueID)
	if errors.Is(err, metadata.ErrNotFound) {
		if _, terr := s.store.TopicGet(ctx, topic); terr != nil {
			return admin.StoreError(terr)
		}
		return domain.Errorf(domain.ErrQueueNotFound, "topic %s has no queue %d", c.Param("topic"), queueID)
	}
	if err != nil {
		return admin.StoreError(err)
	}
	if err := s.requireConsumes(c, group, q); err != nil {
		return err
	}
	if *req.Offset < q.MinOffset || *req.Offset > q.NextOffset {
		return badRequest("offset must be within the queue's stored range %d-%d", q.MinOffset, q.NextOffset)
	}
	if err := s.store.ResetCursors(ctx, group, []metadata.CursorMove{{QueueRef: q.Ref, Cursor: *req.Offset}}); err != nil {
		return admin.StoreError(err)
	}
	return c.JSON(http.StatusOK, OffsetsResponse{Group: c.Param("group"),
		Queues: []OffsetMove{{Topic: c.Param("topic"), QueueID: q.QueueID, Offset: *req.Offset}}})
}

// requireConsumes answers 404 when the group does not consume the queue.
func (s *adminRoutes) requireConsumes(c echo.Context, group string, q metadata.Queue) error {
	qs, err := s.store.GroupQueues(c.Request().Context(), group, q.Topic)
	if err != nil {
		return admin.StoreError(err)
	}
	for _, gq := range qs {
		if gq.Ref == q.Ref {
			return nil
		}
	}
	return domain.Errorf(domain.ErrSubscriptionNotFound, "group %s does not subscribe to topic %s", c.Param("group"), c.Param("topic"))
}

// skipBacklog moves a group to the end of every queue it consumes (of one topic, or of all
// its topics): the backlog is skipped, and the group gets messages sent from now on.
func (s *adminRoutes) skipBacklog(c echo.Context) error {
	var req SkipBacklogRequest
	if c.Request().ContentLength != 0 {
		if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	var qs []metadata.Queue
	if req.Topic != "" {
		topic, err := tenant.Resolve("topic", req.Topic)
		if err != nil {
			return err
		}
		if _, err := s.store.TopicGet(ctx, topic); err != nil {
			return admin.StoreError(err)
		}
		qs, err = s.store.GroupQueues(ctx, group, topic)
		if err != nil {
			return admin.StoreError(err)
		}
		if len(qs) == 0 {
			return domain.Errorf(domain.ErrSubscriptionNotFound, "group %s does not subscribe to topic %s", c.Param("group"), req.Topic)
		}
	} else if qs, err = s.store.GroupQueuesAll(ctx, group); err != nil {
		return admin.StoreError(err)
	}
	moves := make([]metadata.CursorMove, len(qs))
	out := OffsetsResponse{Group: c.Param("group"), Queues: []OffsetMove{}}
	for i, q := range qs {
		moves[i] = metadata.CursorMove{QueueRef: q.Ref, Cursor: q.NextOffset}
		out.Queues = append(out.Queues, OffsetMove{Topic: tenant.Show(q.Topic), QueueID: q.QueueID, LiteTopic: q.LiteTopic, Offset: q.NextOffset})
	}
	if len(moves) > 0 {
		if err := s.store.ResetCursors(ctx, group, moves); err != nil {
			return admin.StoreError(err)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// copyOffsets gives a group the consumed offsets (acked low watermarks) of another group on
// every queue both consume: a new group can take over where an old one stands.
func (s *adminRoutes) copyOffsets(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	from, err := tenant.Resolve("group", c.Param("from"))
	if err != nil {
		return err
	}
	if group == from {
		return badRequest("from must name another group than %s", c.Param("group"))
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	if _, err := s.store.GroupGet(ctx, from); err != nil {
		return admin.GroupError(err)
	}
	lag, err := s.store.GroupLag(ctx, from)
	if err != nil {
		return admin.StoreError(err)
	}
	type key struct {
		topic, lite string
		queue       int
	}
	consumed := map[key]int64{}
	for _, l := range lag {
		consumed[key{l.Topic, l.LiteTopic, l.QueueID}] = l.ConsumedOffset
	}
	qs, err := s.store.GroupQueuesAll(ctx, group)
	if err != nil {
		return admin.StoreError(err)
	}
	var moves []metadata.CursorMove
	out := OffsetsResponse{Group: c.Param("group"), Queues: []OffsetMove{}}
	for _, q := range qs {
		off, ok := consumed[key{q.Topic, q.LiteTopic, q.QueueID}]
		if !ok {
			continue
		}
		moves = append(moves, metadata.CursorMove{QueueRef: q.Ref, Cursor: off})
		out.Queues = append(out.Queues, OffsetMove{Topic: tenant.Show(q.Topic), QueueID: q.QueueID, LiteTopic: q.LiteTopic, Offset: off})
	}
	if len(moves) > 0 {
		if err := s.store.ResetCursors(ctx, group, moves); err != nil {
			return admin.StoreError(err)
		}
	}
	return c.JSON(http.StatusOK, out)
}
