package services

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the HTTP server's limits.
const (
	defaultMaxConnections  = 4096
	defaultBodyReadTimeout = 30 * time.Second
)

// bodyDeadline bounds how long reading a request's body may take, so a client trickling
// a body (a byte every few seconds) cannot hold a connection and its goroutine for long.
// The deadline is set on the connection when the request has a body and lifted once the
// body is read to its end: a long-polling receive, whose small body arrives at once, then
// waits for its answer as long as it asks. Requests without a body get no deadline (a
// deadline left pending would end a long poll: Go's server watches the idle connection
// for the client going away, and a lapsed deadline reads as that).
//
// A request refused before its body was read (401 without a key, 403, 413, 429) is
// answered at once with Connection: close, and the rest of its body is not waited for.
func bodyDeadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
				return next(c)
			}
			rc := http.NewResponseController(c.Response().Writer)
			if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
				return next(c) // a writer without deadlines (tests): nothing to bound
			}
			body := &deadlineBody{ReadCloser: req.Body, rc: rc}
			req.Body = body
			err := next(c)
			if err != nil && !body.done.Load() && !c.Response().Committed && req.ProtoMajor == 1 {
				// Answer now and close: waiting for the rest of a refused body is what a
				// slow client wants us to do. (HTTP/2 answers without waiting, and ends
				// only the stream.)
				c.Response().Header().Set(echo.HeaderConnection, "close")
				_ = rc.SetReadDeadline(time.Now())
			}
			return err
		}
	}
}

// deadlineBody lifts the connection's read deadline once the body is read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done.Swap(true) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// limitListener accepts at most max connections at a time; past it Accept waits for one
// to close (the kernel's backlog holds new ones meanwhile). golang.org/x/net/netutil's
// LimitListener does the same but cannot report how many are open.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	open      prometheus.Gauge
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, max int, reg prometheus.Registerer) (*limitListener, error) {
	ll := &limitListener{Listener: l, slots: make(chan struct{}, max), closed: make(chan struct{}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_http_open_connections",
			Help: "Open connections of the HTTP listener (at most --max-connections).",
		})}
	if err := reg.Register(ll.open); err != nil {
		return nil, err
	}
	return ll, nil
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.open.Inc()
	return &limitConn{Conn: c, release: func() { <-l.slots; l.open.Dec() }}, nil
}

// Close stops the listener, and an Accept waiting for a free slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
