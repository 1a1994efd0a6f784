package reader

import (
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
)

// Register adds the read path's routes to an echo router.
func (s *Service) Register(e *echo.Echo) {
	e.GET("/v1/topics/:topic/queues/:queue/messages", s.handleReadQueue)
	e.GET("/v1/topics/:topic/messages/:id", s.handleGetMessage)
	e.GET("/v1/topics/:topic/messages/:id/trace", s.handleTrace)
	e.GET("/v1/topics/:topic/messages", s.handleByKey)
}

func (s *Service) handleReadQueue(c echo.Context) error {
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
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	views, err := s.ReadQueue(c.Request().Context(), topic, int(queueID), lite, offset, int(limit))
	if err != nil {
		return err
	}
	showTopic(c, views)
	return c.JSON(http.StatusOK, httpapi.MessagesResponse{Messages: views})
}

func (s *Service) handleGetMessage(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
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

func (s *Service) handleByKey(c echo.Context) error {
	if err := domain.CheckReadableTopic(c.Param("topic")); err != nil {
		return err
	}
	key := c.QueryParam("key")
	if key == "" {
		return domain.Errorf(domain.ErrBadRequest, "query parameter key is required")
	}
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	views, err := s.MessagesByKey(c.Request().Context(), topic, key)
	if err != nil {
		return err
	}
	showTopic(c, views)
	return c.JSON(http.StatusOK, httpapi.MessagesResponse{Messages: views})
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
