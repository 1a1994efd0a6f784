package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/reader"
	"github.com/floemq/floe/trace"
)

// readerRoutes serves the read path's routes on a reader.Service.
type readerRoutes struct{ *reader.Service }

// RegisterReader adds the read path's routes to an echo router.
func RegisterReader(e *echo.Echo, svc *reader.Service) {
	s := &readerRoutes{svc}
	e.GET("/v1/topics/:topic/queues/:queue/messages", s.handleReadQueue)
	e.GET("/v1/topics/:topic/messages/:id", s.handleGetMessage)
	e.GET("/v1/topics/:topic/messages/:id/trace", s.handleTrace)
	e.GET("/v1/topics/:topic/messages", s.handleByKey)
}

func (s *readerRoutes) handleReadQueue(c echo.Context) error {
	// Queue ids are Postgres integers: 0 to 2^31-1.
	queueID, err := strconv.ParseInt(c.Param("queue"), 10, 32)
	if err != nil || queueID < 0 {
		return domain.Errorf(domain.ErrBadRequest, "queueId must be an integer from 0 to %d", math.MaxInt32)
	}
	offset, err := intParam(c, "offset", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 100)
	if err != nil {
		return err
	}
	lite := c.QueryParam("liteTopic")
	if lite != "" {
		if err := domain.CheckName("liteTopic", lite); err != nil {
			return err
		}
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	views, err := s.ReadQueue(c.Request().Context(), topic, int(queueID), lite, offset, int(limit))
	if err != nil {
		return err
	}
	showTopic(c, views)
	return c.JSON(http.StatusOK, MessagesResponse{Messages: views})
}

func (s *readerRoutes) handleGetMessage(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if err := domain.CheckID("message id", c.Param("id")); err != nil {
		return err
	}
	v, err := s.GetMessage(c.Request().Context(), topic, c.Param("id"))
	if err != nil {
		return err
	}
	v.Topic = c.Param("topic")
	return c.JSON(http.StatusOK, v)
}

func (s *readerRoutes) handleByKey(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	key := c.QueryParam("key")
	if key == "" {
		return domain.Errorf(domain.ErrBadRequest, "query parameter key is required")
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	views, err := s.MessagesByKey(c.Request().Context(), topic, key)
	if err != nil {
		return err
	}
	showTopic(c, views)
	return c.JSON(http.StatusOK, MessagesResponse{Messages: views})
}

// showTopic names the topic of views as the caller wrote it in the path.
func showTopic(c echo.Context, views []domain.MessageView) {
	for i := range views {
		views[i].Topic = c.Param("topic")
	}
}

func intParam(c echo.Context, name string, def int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.ErrBadRequest, "%s must be an integer", name)
	}
	return n, nil
}

// RegisterReaderOperate adds the operator's read routes: browsing a topic by time and
// the offsets of a time.
func RegisterReaderOperate(e *echo.Echo, svc *reader.Service) {
	s := &readerRoutes{svc}
	e.GET("/v1/topics/:topic/browse", s.handleBrowse)
	e.GET("/v1/topics/:topic/offsets", s.handleOffsetsForTime)
}

func (s *readerRoutes) handleBrowse(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.ErrBadRequest, format, args...)
	}
	o := reader.BrowseOptions{To: time.Now(), NewestFirst: true, Limit: reader.DefaultBrowseLimit,
		Tag: c.QueryParam("tag"), Key: c.QueryParam("key"), Property: c.QueryParam("property")}
	if v := c.QueryParam("to"); v != "" {
		if o.To, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return bad("to must be an RFC 3339 time, not %q", v)
		}
	}
	o.From = o.To.Add(-reader.DefaultBrowseWindow)
	if v := c.QueryParam("from"); v != "" {
		if o.From, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return bad("from must be an RFC 3339 time, not %q", v)
		}
	}
	if o.From.After(o.To) {
		return bad("from must not be after to")
	}
	switch c.QueryParam("order") {
	case "", "newest":
	case "oldest":
		o.NewestFirst = false
	default:
		return bad("order must be newest or oldest, not %q", c.QueryParam("order"))
	}
	if v := c.QueryParam("limit"); v != "" {
		if o.Limit, err = strconv.Atoi(v); err != nil || o.Limit < 1 || o.Limit > reader.MaxBrowseLimit {
			return bad("limit must be 1-%d", reader.MaxBrowseLimit)
		}
	}
	if o.Property != "" && !strings.Contains(o.Property, "=") {
		return bad("property must be name=value, not %q", o.Property)
	}
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := reader.ParseBrowseCursor(v)
		if err != nil {
			return bad("cursor %q is not a cursor this API returned", v)
		}
		o.After = &cur
	}
	msgs, next, err := s.Browse(c.Request().Context(), topic, o)
	if err != nil {
		return err
	}
	for i := range msgs {
		msgs[i].Topic = c.Param("topic")
	}
	resp := BrowseResponse{Messages: msgs}
	if next != nil {
		resp.NextCursor = next.String()
	}
	return c.JSON(http.StatusOK, resp)
}

func (s *readerRoutes) handleOffsetsForTime(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	v := c.QueryParam("time")
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return domain.Errorf(domain.ErrBadRequest, "time must be an RFC 3339 time, not %q", v)
	}
	qs, err := s.OffsetsForTime(c.Request().Context(), topic, t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, OffsetsForTimeResponse{Topic: c.Param("topic"), Time: t, Queues: qs})
}

func (s *readerRoutes) handleTrace(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	tenant := TenantOf(c)
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
