package reader

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
)

const maxConsumeRequestBytes = 1 << 20

// Register adds the consumption routes.
func (c *Consumer) Register(e *echo.Echo) {
	e.POST("/v1/groups/:group/topics/:topic/receive", c.handleReceive)
	e.POST("/v1/groups/:group/topics/:topic/ack", c.handleAck)
	e.POST("/v1/groups/:group/topics/:topic/nack", c.handleNack)
	e.POST("/v1/groups/:group/topics/:topic/change-invisible", c.handleChangeInvisible)
	e.POST("/v1/groups/:group/topics/:topic/reset", c.handleReset)
	e.GET("/v1/groups/:group/lag", c.handleLag)
}

func (c *Consumer) handleReceive(ctx echo.Context) error {
	var req httpapi.ReceiveRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	opts := ReceiveOptions{MaxMessages: DefaultMaxMessages, Invisible: DefaultInvisible, Consumer: ctx.RealIP()}
	if req.MaxMessages != nil {
		opts.MaxMessages = *req.MaxMessages
	}
	if req.InvisibleSeconds != nil {
		opts.Invisible = time.Duration(*req.InvisibleSeconds) * time.Second
	}
	if req.WaitSeconds != nil {
		opts.Wait = time.Duration(*req.WaitSeconds) * time.Second
	}
	tenant := httpapi.TenantOf(ctx)
	group, topic, err := tenant.GroupTopic(ctx)
	if err != nil {
		return err
	}
	msgs, err := c.Receive(ctx.Request().Context(), group, topic, opts)
	if err != nil {
		return err
	}
	c.noteReceive(ctx, group, topic, len(msgs), opts.Invisible)
	for i := range msgs {
		msgs[i].Topic = ctx.Param("topic")
	}
	if ctx.QueryParams().Has("pretty") || ctx.Echo().Debug {
		return ctx.JSON(http.StatusOK, httpapi.ReceiveResponse{Messages: msgs})
	}
	// The same bytes as ctx.JSON, encoded without reflection.
	bp := responseBufs.Get().(*[]byte)
	defer responseBufs.Put(bp)
	b, err := httpapi.AppendReceiveResponse((*bp)[:0], msgs)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	*bp = b
	return ctx.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// responseBufs holds buffers of receive answers between calls.
var responseBufs = sync.Pool{New: func() any { return new([]byte) }}

func (c *Consumer) handleAck(ctx echo.Context) error { return c.settleHandles(ctx, c.Ack, false) }

func (c *Consumer) handleNack(ctx echo.Context) error { return c.settleHandles(ctx, c.Nack, true) }

// settleHandles serves a call that settles receipt handles (ack, nack) with settle.
func (c *Consumer) settleHandles(ctx echo.Context, settle func(ctx context.Context, group, topic string, handles []string) ([]domain.HandleResult, error), nack bool) error {
	var req httpapi.HandlesRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := httpapi.TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	res, err := settle(ctx.Request().Context(), group, topic, req.ReceiptHandles)
	if err != nil {
		return err
	}
	c.noteSettle(ctx, group, topic, res, nack)
	return ctx.JSON(http.StatusOK, httpapi.HandlesResponse{Results: res})
}

func (c *Consumer) handleChangeInvisible(ctx echo.Context) error {
	var req httpapi.ChangeInvisibleRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := httpapi.TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	h, err := c.ChangeInvisible(ctx.Request().Context(), group, topic, req.ReceiptHandle,
		time.Duration(req.InvisibleSeconds)*time.Second)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, httpapi.ChangeInvisibleResponse{ReceiptHandle: h})
}

func (c *Consumer) handleReset(ctx echo.Context) error {
	var req httpapi.ResetRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	if req.Timestamp.IsZero() {
		return domain.Errorf(domain.ErrBadRequest, "timestamp (RFC 3339) is required")
	}
	group, topic, err := httpapi.TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	if err := c.Reset(ctx.Request().Context(), group, topic, req.Timestamp); err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, map[string]any{"group": ctx.Param("group"), "topic": ctx.Param("topic"), "timestamp": req.Timestamp})
}

func (c *Consumer) handleLag(ctx echo.Context) error {
	if err := domain.CheckName("group", ctx.Param("group")); err != nil {
		return err
	}
	tenant := httpapi.TenantOf(ctx)
	group, err := tenant.Param(ctx, "group")
	if err != nil {
		return err
	}
	lag, err := c.Lag(ctx.Request().Context(), group)
	if err != nil {
		return err
	}
	// A group subscribes to topics of its own namespace only (plus its dead letters).
	lag.Group = ctx.Param("group")
	for i := range lag.Topics {
		lag.Topics[i].Topic = tenant.Show(lag.Topics[i].Topic)
	}
	return ctx.JSON(http.StatusOK, lag)
}
