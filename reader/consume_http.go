package reader

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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
	msgs, err := c.Receive(ctx.Request().Context(), ctx.Param("group"), ctx.Param("topic"), opts)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, httpapi.ReceiveResponse{Messages: msgs})
}

func (c *Consumer) handleAck(ctx echo.Context) error {
	var req httpapi.HandlesRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	res, err := c.Ack(ctx.Request().Context(), ctx.Param("group"), ctx.Param("topic"), req.ReceiptHandles)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, httpapi.HandlesResponse{Results: res})
}

func (c *Consumer) handleNack(ctx echo.Context) error {
	var req httpapi.HandlesRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	res, err := c.Nack(ctx.Request().Context(), ctx.Param("group"), ctx.Param("topic"), req.ReceiptHandles)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, httpapi.HandlesResponse{Results: res})
}

func (c *Consumer) handleChangeInvisible(ctx echo.Context) error {
	var req httpapi.ChangeInvisibleRequest
	if err := httpapi.DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	h, err := c.ChangeInvisible(ctx.Request().Context(), ctx.Param("group"), ctx.Param("topic"), req.ReceiptHandle,
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
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "timestamp (RFC 3339) is required")
	}
	if err := c.Reset(ctx.Request().Context(), ctx.Param("group"), ctx.Param("topic"), req.Timestamp); err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, map[string]any{"group": ctx.Param("group"), "topic": ctx.Param("topic"), "timestamp": req.Timestamp})
}

func (c *Consumer) handleLag(ctx echo.Context) error {
	if err := httpapi.CheckName("group", ctx.Param("group")); err != nil {
		return err
	}
	lag, err := c.Lag(ctx.Request().Context(), ctx.Param("group"))
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, lag)
}
