package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func (s *adminRoutes) registerRedrive(e *echo.Echo) {
	e.POST("/v1/groups/:group/dead-letters/redrive", s.startRedrive)
	e.GET("/v1/groups/:group/dead-letters/redrive", s.listRedrives)
	e.GET("/v1/groups/:group/dead-letters/redrive/:task", s.getRedrive)
	e.POST("/v1/groups/:group/dead-letters/redrive/:task/cancel", s.cancelRedrive)
}

// startRedrive creates a task that moves the group's dead letters (all of them, or the
// chosen ones) to a topic the group subscribes to. The task runs on the compactor nodes;
// its id answers at once.
func (s *adminRoutes) startRedrive(c echo.Context) error {
	var req RedriveRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	rate := admin.DefaultRedriveRate
	if req.RatePerSecond != nil {
		if *req.RatePerSecond < 1 || *req.RatePerSecond > admin.MaxRedriveRate {
			return badRequest("ratePerSecond must be 1-%d", admin.MaxRedriveRate)
		}
		rate = *req.RatePerSecond
	}
	if req.MessageIDs != nil && (len(req.MessageIDs) == 0 || len(req.MessageIDs) > admin.MaxRedriveMessageIDs) {
		return badRequest("messageIds must hold 1-%d ids (omit it to redrive every dead letter)", admin.MaxRedriveMessageIDs)
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	subs, err := s.store.SubscriptionList(ctx, group)
	if err != nil {
		return admin.StoreError(err)
	}
	var target string
	if req.TargetTopic == "" {
		if len(subs) != 1 {
			return badRequest("targetTopic is required: group %s subscribes to %d topics", c.Param("group"), len(subs))
		}
		target = subs[0].Topic
	} else {
		if target, err = tenant.Resolve("topic", req.TargetTopic); err != nil {
			return err
		}
		found := false
		for _, sub := range subs {
			found = found || sub.Topic == target
		}
		if !found {
			// The group's admin may send its dead letters only where the group consumes:
			// writing into any other topic is a right over that topic.
			return badRequest("targetTopic must be a topic group %s subscribes to; %s is not", c.Param("group"), req.TargetTopic)
		}
	}
	t, err := s.store.TopicGet(ctx, target)
	if err != nil {
		return admin.StoreError(err)
	}
	if (t.Type == metadata.TopicFIFO || t.Type == metadata.TopicLite) && s.Messages() == nil {
		// The dead letters' message groups or lite topics choose their queues: the node
		// must read them.
		return domain.Errorf(domain.ErrUnavailable, "this node cannot read messages (no reader role); ask a reader node")
	}
	p := metadata.RedriveCreateParams{ID: newTaskID(), Group: group, TargetTopic: target, RatePerSecond: rate}
	if req.MessageIDs != nil {
		if s.Messages() == nil {
			return domain.Errorf(domain.ErrUnavailable, "this node cannot read messages (no reader role); ask a reader node")
		}
		seen := map[int64]bool{}
		p.Offsets = []int64{}
		for _, id := range req.MessageIDs {
			v, err := s.Messages().GetMessage(ctx, metadata.DLQTopic(group), id)
			if errors.Is(err, domain.ErrMessageNotFound) || errors.Is(err, domain.ErrTopicNotFound) || errors.Is(err, domain.ErrQueueNotFound) {
				return domain.Errorf(domain.ErrMessageNotFound, "no dead letter %s in group %s", id, c.Param("group"))
			}
			if err != nil {
				return err
			}
			if !seen[v.Offset] {
				seen[v.Offset] = true
				p.Offsets = append(p.Offsets, v.Offset)
			}
		}
	}
	task, err := s.store.RedriveCreate(ctx, p)
	if err != nil {
		return admin.GroupError(err)
	}
	return c.JSON(http.StatusAccepted, redriveView(tenant, task))
}

func newTaskID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redriveView(tenant Tenant, t metadata.RedriveTask) RedriveTask {
	return RedriveTask{ID: t.ID, Group: tenant.Show(t.Group), TargetTopic: tenant.Show(t.TargetTopic), State: t.State,
		Total: t.Total(), Moved: t.Moved, Skipped: t.Skipped, RatePerSecond: t.RatePerSecond, Error: t.Error,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), FinishedAt: t.FinishedAt}
}

func (s *adminRoutes) listRedrives(c echo.Context) error {
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(c.Request().Context(), group); err != nil {
		return admin.GroupError(err)
	}
	ts, err := s.store.RedriveList(c.Request().Context(), group, 100)
	if err != nil {
		return admin.StoreError(err)
	}
	out := RedriveTasksResponse{Tasks: []RedriveTask{}}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, redriveView(tenant, t))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *adminRoutes) getRedrive(c echo.Context) error {
	return s.redriveTask(c, s.store.RedriveGet)
}

func (s *adminRoutes) cancelRedrive(c echo.Context) error {
	return s.redriveTask(c, s.store.RedriveCancel)
}

func (s *adminRoutes) redriveTask(c echo.Context, fn func(ctx context.Context, group, id string) (metadata.RedriveTask, error)) error {
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	t, err := fn(c.Request().Context(), group, c.Param("task"))
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTaskNotFound, "group %s has no redrive task %s", c.Param("group"), c.Param("task"))
	}
	if err != nil {
		return admin.StoreError(err)
	}
	return c.JSON(http.StatusOK, redriveView(tenant, t))
}
