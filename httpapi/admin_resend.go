package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func (s *adminRoutes) registerResend(e *echo.Echo) {
	e.POST("/v1/groups/:group/topics/:topic/messages/:id/resend", s.resend)
}

// resend delivers one stored message to a group again (ApsaraMQ's "verify consumption"):
// the group's next receive gets it as a new delivery, whatever became of it before.
func (s *adminRoutes) resend(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, topic, err := tenant.GroupTopic(c)
	if err != nil {
		return err
	}
	if s.Messages() == nil {
		return domain.Errorf(domain.ErrUnavailable, "this node cannot read messages (no reader role); ask a reader node")
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	v, err := s.Messages().GetMessage(ctx, topic, c.Param("id"))
	if err != nil {
		return err
	}
	q, err := s.store.QueueGet(ctx, topic, v.QueueID)
	if err != nil {
		return admin.StoreError(err)
	}
	err = s.store.ResendToGroup(ctx, group, q.Ref, v.Offset)
	if cerr := conflictError(err); cerr != nil {
		return cerr
	}
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrSubscriptionNotFound, "group %s does not consume queue %d of topic %s", c.Param("group"), v.QueueID, c.Param("topic"))
	}
	if err != nil {
		return admin.StoreError(err)
	}
	return c.JSON(http.StatusAccepted, ResendResponse{Group: c.Param("group"), MessageID: v.MessageID, QueueID: v.QueueID, Offset: v.Offset})
}
