package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/presence"
	"github.com/floemq/floe/reader"
)

const maxConsumeRequestBytes = 1 << 20

// consumeRoutes serves the consumption routes on a reader.Consumer.
type consumeRoutes struct {
	*reader.Consumer
	// clients, when set, records the callers (the node's connected clients).
	clients *presence.Table
}

// RegisterConsume adds the consumption routes; clients, when not nil, records their
// callers.
func RegisterConsume(e *echo.Echo, consumer *reader.Consumer, clients *presence.Table) {
	c := &consumeRoutes{Consumer: consumer, clients: clients}
	e.POST("/v1/groups/:group/topics/:topic/receive", c.handleReceive)
	e.POST("/v1/groups/:group/topics/:topic/ack", c.handleAck)
	e.POST("/v1/groups/:group/topics/:topic/nack", c.handleNack)
	e.POST("/v1/groups/:group/topics/:topic/change-invisible", c.handleChangeInvisible)
	e.POST("/v1/groups/:group/topics/:topic/change-invisible-batch", c.handleChangeInvisibleBatch)
	e.POST("/v1/groups/:group/topics/:topic/reset", c.handleReset)
	e.GET("/v1/groups/:group/lag", c.handleLag)
}

// RegisterLagHistory adds GET /v1/groups/{group}/lag/history: the group's lag over the
// last hour, as this node sampled it.
func RegisterLagHistory(e *echo.Echo, consumer *reader.Consumer, h *reader.LagHistory) {
	e.GET("/v1/groups/:group/lag/history", func(ctx echo.Context) error {
		if err := domain.CheckName("group", ctx.Param("group")); err != nil {
			return err
		}
		tenant := TenantOf(ctx)
		group, err := tenant.Param(ctx, "group")
		if err != nil {
			return err
		}
		if err := consumer.GroupExists(ctx.Request().Context(), group); err != nil {
			return err
		}
		out := LagHistoryResponse{Group: ctx.Param("group"), IntervalSeconds: int(h.Interval() / time.Second), Points: []LagHistoryPoint{}}
		for _, s := range h.Of(group) {
			p := LagHistoryPoint{Time: s.Time, Topics: make([]LagHistoryTopic, len(s.Topics))}
			for i, t := range s.Topics {
				p.Topics[i] = LagHistoryTopic{Topic: tenant.Show(t.Topic), Lag: t.Lag, Inflight: t.Inflight, Ready: t.Ready}
			}
			out.Points = append(out.Points, p)
		}
		return ctx.JSON(http.StatusOK, out)
	})
}

func (c *consumeRoutes) handleReceive(ctx echo.Context) error {
	var req ReceiveRequest
	if err := DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	opts := reader.ReceiveOptions{MaxMessages: reader.DefaultMaxMessages, Invisible: reader.DefaultInvisible, Consumer: ctx.RealIP()}
	if req.MaxMessages != nil {
		opts.MaxMessages = *req.MaxMessages
	}
	if req.InvisibleSeconds != nil {
		opts.Invisible = time.Duration(*req.InvisibleSeconds) * time.Second
	}
	if req.WaitSeconds != nil {
		opts.Wait = time.Duration(*req.WaitSeconds) * time.Second
	}
	tenant := TenantOf(ctx)
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
		return ctx.JSON(http.StatusOK, ReceiveResponse{Messages: msgs})
	}
	// The same bytes as ctx.JSON, encoded without reflection.
	bp := responseBufs.Get().(*[]byte)
	defer responseBufs.Put(bp)
	b, err := AppendReceiveResponse((*bp)[:0], msgs)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	*bp = b
	return writeJSONBytes(ctx, b)
}

// writeJSONBytes answers 200 with an encoded JSON body and its length, so that a large
// answer goes out as one plain body rather than in chunks.
func writeJSONBytes(ctx echo.Context, b []byte) error {
	ctx.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return ctx.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// responseBufs holds buffers of receive answers between calls.
var responseBufs = sync.Pool{New: func() any { return new([]byte) }}

func (c *consumeRoutes) handleAck(ctx echo.Context) error { return c.settleHandles(ctx, c.Ack, false) }

func (c *consumeRoutes) handleNack(ctx echo.Context) error { return c.settleHandles(ctx, c.Nack, true) }

// settleHandles serves a call that settles receipt handles (ack, nack) with settle.
func (c *consumeRoutes) settleHandles(ctx echo.Context, settle func(ctx context.Context, group, topic string, handles []string) ([]domain.HandleResult, error), nack bool) error {
	var req HandlesRequest
	if err := DecodeHandlesRequest(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	res, err := settle(ctx.Request().Context(), group, topic, req.ReceiptHandles)
	if err != nil {
		return err
	}
	c.noteSettle(ctx, group, topic, res, nack)
	// The same bytes as ctx.JSON, encoded without reflection.
	bp := responseBufs.Get().(*[]byte)
	defer responseBufs.Put(bp)
	*bp = append(AppendHandlesResponse((*bp)[:0], res), '\n')
	return writeJSONBytes(ctx, *bp)
}

func (c *consumeRoutes) handleChangeInvisible(ctx echo.Context) error {
	var req ChangeInvisibleRequest
	if err := DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	h, err := c.ChangeInvisible(ctx.Request().Context(), group, topic, req.ReceiptHandle,
		time.Duration(req.InvisibleSeconds)*time.Second)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, ChangeInvisibleResponse{ReceiptHandle: h})
}

func (c *consumeRoutes) handleChangeInvisibleBatch(ctx echo.Context) error {
	var req ChangeInvisibleBatchRequest
	if err := DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	group, topic, err := TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	changes := make([]reader.InvisibleChange, len(req.Entries))
	for i, e := range req.Entries {
		changes[i] = reader.InvisibleChange{ReceiptHandle: e.ReceiptHandle, Invisible: time.Duration(e.InvisibleSeconds) * time.Second}
	}
	res, err := c.ChangeInvisibleBatch(ctx.Request().Context(), group, topic, changes)
	if err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, ChangeInvisibleBatchResponse{Results: res})
}

func (c *consumeRoutes) handleReset(ctx echo.Context) error {
	var req ResetRequest
	if err := DecodeJSON(ctx, maxConsumeRequestBytes, &req); err != nil {
		return err
	}
	if req.Timestamp.IsZero() {
		return domain.Errorf(domain.ErrBadRequest, "timestamp (RFC 3339) is required")
	}
	group, topic, err := TenantOf(ctx).GroupTopic(ctx)
	if err != nil {
		return err
	}
	if err := c.Reset(ctx.Request().Context(), group, topic, req.Timestamp); err != nil {
		return err
	}
	return ctx.JSON(http.StatusOK, map[string]any{"group": ctx.Param("group"), "topic": ctx.Param("topic"), "timestamp": req.Timestamp})
}

func (c *consumeRoutes) handleLag(ctx echo.Context) error {
	if err := domain.CheckName("group", ctx.Param("group")); err != nil {
		return err
	}
	tenant := TenantOf(ctx)
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

// httpClient is the identity of the caller of a consumption route.
func httpClient(ctx echo.Context) presence.Identity {
	r := ctx.Request()
	return presence.HTTPClient(ctx.RealIP(), r.UserAgent(), r.Header.Get(ClientIDHeader), presence.TypeConsumer)
}

// noteReceive records an HTTP receive: n messages handed to the caller for invisible.
func (c *consumeRoutes) noteReceive(ctx echo.Context, group, topic string, n int, invisible time.Duration) {
	if c.clients != nil {
		c.clients.Delivered(group, topic, httpClient(ctx), n, invisible)
	}
}

// noteSettle records an HTTP ack or nack: the handles that settled.
func (c *consumeRoutes) noteSettle(ctx echo.Context, group, topic string, res []domain.HandleResult, nack bool) {
	if c.clients == nil {
		return
	}
	n := 0
	for _, r := range res {
		if r.Status == reader.StatusOK {
			n++
		}
	}
	if nack {
		c.clients.Settled(group, topic, httpClient(ctx), 0, n)
	} else {
		c.clients.Settled(group, topic, httpClient(ctx), n, 0)
	}
}
