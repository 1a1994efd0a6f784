package reader

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/presence"
)

// SetClients makes the HTTP consumption routes record their callers in t (the node's
// connected clients). Call it before serving.
func (c *Consumer) SetClients(t *presence.Table) { c.clients = t }

// httpClient is the identity of the caller of a consumption route.
func httpClient(ctx echo.Context) presence.Identity {
	r := ctx.Request()
	return presence.HTTPClient(ctx.RealIP(), r.UserAgent(), r.Header.Get(httpapi.ClientIDHeader), presence.TypeConsumer)
}

// noteReceive records an HTTP receive: n messages handed to the caller for invisible.
func (c *Consumer) noteReceive(ctx echo.Context, group, topic string, n int, invisible time.Duration) {
	if c.clients != nil {
		c.clients.Delivered(group, topic, httpClient(ctx), n, invisible)
	}
}

// noteSettle records an HTTP ack or nack: the handles that settled.
func (c *Consumer) noteSettle(ctx echo.Context, group, topic string, res []domain.HandleResult, nack bool) {
	if c.clients == nil {
		return
	}
	n := 0
	for _, r := range res {
		if r.Status == StatusOK {
			n++
		}
	}
	if nack {
		c.clients.Settled(group, topic, httpClient(ctx), 0, n)
	} else {
		c.clients.Settled(group, topic, httpClient(ctx), n, 0)
	}
}
