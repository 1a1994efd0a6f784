// Package admin serves the management routes that any role answers: topics and their
// queues (and, later, consumer groups and subscriptions).
package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

// Limits on topic settings.
const (
	DefaultQueues         = 8
	MaxQueues             = 1024
	DefaultRetentionHours = 72
	MaxRetentionHours     = 24 * 365 * 10
	maxRequestBytes       = 1 << 20
	// MaxLiteTTLMinutes is 30 days.
	MaxLiteTTLMinutes = 30 * 24 * 60
)

// Service answers the admin routes from the metadata store.
type Service struct {
	store    *metadata.Store
	messages Messages
}

// New returns the admin service.
func New(store *metadata.Store) *Service { return &Service{store: store} }

// Register adds the admin routes.
func (s *Service) Register(e *echo.Echo) {
	e.POST("/v1/topics", s.createTopic)
	e.GET("/v1/topics", s.listTopics)
	e.GET("/v1/topics/:topic", s.getTopic)
	e.DELETE("/v1/topics/:topic", s.deleteTopic)
	e.PATCH("/v1/topics/:topic", s.patchTopic)
	e.GET("/v1/topics/:topic/queues", s.listQueues)
	s.registerGroups(e)
	s.registerOperate(e)
	s.registerClients(e)
}

type createTopicRequest struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Queues         *int   `json:"queues"`
	RetentionHours *int   `json:"retentionHours"`
	LiteTTLMinutes *int   `json:"liteTtlMinutes"`
	Trace          *bool  `json:"trace"`
}

func (s *Service) createTopic(c echo.Context) error {
	var req createTopicRequest
	if err := httpapi.DecodeJSON(c, httpapi.MaxCreateRequestBytes, &req); err != nil {
		return err
	}
	t, err := topicFromRequest(req)
	if err != nil {
		return err
	}
	tenant := httpapi.TenantOf(c)
	t.Name = tenant.Stored(req.Name)
	got, created, err := s.store.TopicCreate(c.Request().Context(), t)
	if errors.Is(err, metadata.ErrConflict) {
		return domain.Errorf(domain.ErrTopicExists, "topic %s exists with other settings", req.Name)
	}
	if err != nil {
		return storeError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, topicView(tenant, got))
}

func topicFromRequest(req createTopicRequest) (metadata.Topic, error) {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.ErrBadRequest, format, args...)
	}
	if err := domain.CheckName("topic", req.Name); err != nil {
		return metadata.Topic{}, err
	}
	t := metadata.Topic{Name: req.Name, Type: req.Type, Queues: DefaultQueues, RetentionHours: DefaultRetentionHours, Trace: true}
	if req.Trace != nil {
		t.Trace = *req.Trace
	}
	if t.Type == "" {
		t.Type = metadata.TopicNormal
	}
	switch t.Type {
	case metadata.TopicNormal, metadata.TopicFIFO, metadata.TopicDelay, metadata.TopicTransaction, metadata.TopicLite:
	default:
		return t, bad("type must be NORMAL, FIFO, DELAY, TRANSACTION or LITE, not %q", req.Type)
	}
	if req.Queues != nil {
		if *req.Queues < 1 || *req.Queues > MaxQueues {
			return t, bad("queues must be 1-%d", MaxQueues)
		}
		t.Queues = *req.Queues
	}
	if t.Type == metadata.TopicLite {
		// Each lite topic is one queue of its own; the count is not configurable.
		if req.Queues != nil && *req.Queues != 1 {
			return t, bad("a LITE topic has one queue per lite topic; omit queues")
		}
		t.Queues = 1
	}
	if req.RetentionHours != nil {
		if *req.RetentionHours < 1 || *req.RetentionHours > MaxRetentionHours {
			return t, bad("retentionHours must be 1-%d", MaxRetentionHours)
		}
		t.RetentionHours = *req.RetentionHours
	}
	if req.LiteTTLMinutes != nil {
		if t.Type != metadata.TopicLite {
			return t, bad("liteTtlMinutes applies to LITE topics only")
		}
		if *req.LiteTTLMinutes < 0 || *req.LiteTTLMinutes > MaxLiteTTLMinutes {
			return t, bad("liteTtlMinutes must be 0 (never expire) to %d (30 days)", MaxLiteTTLMinutes)
		}
		t.LiteTTLMinutes = *req.LiteTTLMinutes
	}
	return t, nil
}

func (s *Service) listTopics(c echo.Context) error {
	ts, err := s.store.TopicList(c.Request().Context())
	if err != nil {
		return storeError(err)
	}
	tenant := httpapi.TenantOf(c)
	out := []httpapi.Topic{}
	for _, t := range ts {
		if _, ok := tenant.Visible(t.Name); ok {
			out = append(out, topicView(tenant, t))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"topics": out})
}

func (s *Service) getTopic(c echo.Context) error {
	tenant := httpapi.TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	t, err := s.store.TopicGet(c.Request().Context(), topic)
	if err != nil {
		return storeError(err)
	}
	return c.JSON(http.StatusOK, topicView(tenant, t))
}

func (s *Service) deleteTopic(c echo.Context) error {
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if err := s.store.TopicDelete(c.Request().Context(), topic); err != nil {
		return storeError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) listQueues(c echo.Context) error {
	ctx := c.Request().Context()
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if _, err := s.store.TopicGet(ctx, topic); err != nil {
		return storeError(err)
	}
	qs, err := s.store.QueueList(ctx, topic)
	if err != nil {
		return storeError(err)
	}
	out := make([]httpapi.QueueInfo, len(qs))
	for i, q := range qs {
		out[i] = httpapi.QueueInfo{QueueID: q.QueueID, LiteTopic: q.LiteTopic, MinOffset: q.MinOffset, MaxOffset: q.NextOffset}
	}
	return c.JSON(http.StatusOK, map[string]any{"queues": out})
}

func topicView(tenant httpapi.Tenant, t metadata.Topic) httpapi.Topic {
	return httpapi.Topic{Name: tenant.Show(t.Name), Type: t.Type, Queues: t.Queues, RetentionHours: t.RetentionHours,
		LiteTTLMinutes: t.LiteTTLMinutes, Trace: t.Trace, CreatedAt: t.CreatedAt.UTC()}
}

func storeError(err error) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTopicNotFound, "%v", err)
	}
	if errors.Is(err, metadata.ErrQuotaExceeded) {
		return quotaError(err)
	}
	return domain.Errorf(domain.ErrUnavailable, "metadata store: %v", err)
}

// quotaError answers a create refused by a namespace quota (metadata.QuotaError).
func quotaError(err error) error {
	var qe *metadata.QuotaError
	if !errors.As(err, &qe) {
		return storeError(err)
	}
	return domain.QuotaExceeded(qe.Resource, qe.Limit)
}
