package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func badRequest(format string, args ...any) error {
	return domain.Errorf(domain.ErrBadRequest, format, args...)
}

// conflictError maps a *metadata.ConflictError to 409 with its reason.
func conflictError(err error) error {
	var ce *metadata.ConflictError
	if errors.As(err, &ce) {
		return domain.Errorf(domain.ErrConflict, "%s", ce.Reason)
	}
	return nil
}

// patchTopic changes a topic's settings in place: its queues' offsets and every group's
// state on them stay. Ingest nodes and readers see the change when their caches of the
// topic refresh (seconds).
func (s *adminRoutes) patchTopic(c echo.Context) error {
	var req PatchTopicRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	tenant := TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	if req.Queues != nil && (*req.Queues < 1 || *req.Queues > admin.MaxQueues) {
		return badRequest("queues must be 1-%d", admin.MaxQueues)
	}
	if req.RetentionHours != nil && (*req.RetentionHours < 1 || *req.RetentionHours > admin.MaxRetentionHours) {
		return badRequest("retentionHours must be 1-%d", admin.MaxRetentionHours)
	}
	if req.LiteTTLMinutes != nil && (*req.LiteTTLMinutes < 0 || *req.LiteTTLMinutes > admin.MaxLiteTTLMinutes) {
		return badRequest("liteTtlMinutes must be 0 (never expire) to %d (30 days)", admin.MaxLiteTTLMinutes)
	}
	t, err := s.store.TopicUpdate(c.Request().Context(), topic, metadata.TopicChange{
		Queues: req.Queues, RetentionHours: req.RetentionHours, LiteTTLMinutes: req.LiteTTLMinutes, Trace: req.Trace})
	if cerr := conflictError(err); cerr != nil {
		return cerr
	}
	if err != nil {
		return admin.StoreError(err)
	}
	return c.JSON(http.StatusOK, topicView(tenant, t))
}

// patchGroup changes a group's settings in place: subscriptions, offsets and in-flight
// messages stay. Readers apply the change when their cache of the group refreshes.
func (s *adminRoutes) patchGroup(c echo.Context) error {
	var req PatchGroupRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	group, err := TenantOf(c).Param(c, "group")
	if err != nil {
		return err
	}
	var ch metadata.GroupChange
	if req.DeliveryOrder != nil {
		if err := admin.CheckDeliveryOrder(*req.DeliveryOrder); err != nil {
			return err
		}
		ch.DeliveryOrder = req.DeliveryOrder
	}
	if req.MaxDeliveryAttempts != nil {
		if err := admin.CheckMaxDeliveryAttempts(*req.MaxDeliveryAttempts); err != nil {
			return err
		}
		ch.MaxDeliveryAttempts = req.MaxDeliveryAttempts
	}
	if req.RetryPolicy != nil {
		if err := admin.CheckBackoff(req.RetryPolicy.BackoffSeconds); err != nil {
			return err
		}
		ch.BackoffSeconds = req.RetryPolicy.BackoffSeconds
	}
	g, err := s.store.GroupUpdate(c.Request().Context(), group, ch)
	if cerr := conflictError(err); cerr != nil {
		return cerr
	}
	if err != nil {
		return admin.GroupError(err)
	}
	v, err := s.groupView(c, g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
