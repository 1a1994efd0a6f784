package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// adminRoutes serves the management routes on an admin.Service.
type adminRoutes struct {
	*admin.Service
	store *metadata.Store
}

// maxRequestBytes bounds the body of a management call.
const maxRequestBytes = 1 << 20

// RegisterAdmin adds the management routes, which any role answers.
func RegisterAdmin(e *echo.Echo, svc *admin.Service, store *metadata.Store) {
	s := &adminRoutes{Service: svc, store: store}
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
	// MaxPriority and PriorityAgingSeconds apply to PRIORITY topics only.
	MaxPriority          *int `json:"maxPriority"`
	PriorityAgingSeconds *int `json:"priorityAgingSeconds"`
	// DeduplicationWindowSeconds is how long a message's deduplicationId is remembered.
	DeduplicationWindowSeconds *int `json:"deduplicationWindowSeconds"`
}

func (s *adminRoutes) createTopic(c echo.Context) error {
	var req createTopicRequest
	if err := DecodeJSON(c, MaxCreateRequestBytes, &req); err != nil {
		return err
	}
	t, err := topicFromRequest(req)
	if err != nil {
		return err
	}
	tenant := TenantOf(c)
	t.Name = tenant.Stored(req.Name)
	got, created, err := s.store.TopicCreate(c.Request().Context(), t)
	if errors.Is(err, metadata.ErrConflict) {
		return domain.Errorf(domain.ErrTopicExists, "topic %s exists with other settings", req.Name)
	}
	if err != nil {
		return admin.StoreError(err)
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
	t := metadata.Topic{Name: req.Name, Type: req.Type, Queues: admin.DefaultQueues, RetentionHours: admin.DefaultRetentionHours, Trace: true}
	if req.Trace != nil {
		t.Trace = *req.Trace
	}
	if t.Type == "" {
		t.Type = metadata.TopicNormal
	}
	switch t.Type {
	case metadata.TopicNormal, metadata.TopicFIFO, metadata.TopicDelay, metadata.TopicTransaction, metadata.TopicLite, metadata.TopicPriority:
	default:
		return t, bad("type must be NORMAL, FIFO, DELAY, TRANSACTION, LITE or PRIORITY, not %q", req.Type)
	}
	if err := admin.TopicPriority(&t, req.MaxPriority, req.PriorityAgingSeconds, req.Queues); err != nil {
		return t, err
	}
	if err := admin.TopicDedupWindow(&t, req.DeduplicationWindowSeconds); err != nil {
		return t, err
	}
	if req.Queues != nil {
		if *req.Queues < 1 || *req.Queues > admin.MaxQueues {
			return t, bad("queues must be 1-%d", admin.MaxQueues)
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
		if *req.RetentionHours < 1 || *req.RetentionHours > admin.MaxRetentionHours {
			return t, bad("retentionHours must be 1-%d", admin.MaxRetentionHours)
		}
		t.RetentionHours = *req.RetentionHours
	}
	if req.LiteTTLMinutes != nil {
		if t.Type != metadata.TopicLite {
			return t, bad("liteTtlMinutes applies to LITE topics only")
		}
		if *req.LiteTTLMinutes < 0 || *req.LiteTTLMinutes > admin.MaxLiteTTLMinutes {
			return t, bad("liteTtlMinutes must be 0 (never expire) to %d (30 days)", admin.MaxLiteTTLMinutes)
		}
		t.LiteTTLMinutes = *req.LiteTTLMinutes
	}
	return t, nil
}

func (s *adminRoutes) listTopics(c echo.Context) error {
	ts, err := s.store.TopicList(c.Request().Context())
	if err != nil {
		return admin.StoreError(err)
	}
	tenant := TenantOf(c)
	out := []Topic{}
	for _, t := range ts {
		if _, ok := tenant.Visible(t.Name); ok {
			out = append(out, topicView(tenant, t))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"topics": out})
}

func (s *adminRoutes) getTopic(c echo.Context) error {
	tenant := TenantOf(c)
	topic, err := tenant.Param(c, "topic")
	if err != nil {
		return err
	}
	t, err := s.store.TopicGet(c.Request().Context(), topic)
	if err != nil {
		return admin.StoreError(err)
	}
	return c.JSON(http.StatusOK, topicView(tenant, t))
}

func (s *adminRoutes) deleteTopic(c echo.Context) error {
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if err := s.store.TopicDelete(c.Request().Context(), topic); err != nil {
		return admin.StoreError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *adminRoutes) listQueues(c echo.Context) error {
	ctx := c.Request().Context()
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if _, err := s.store.TopicGet(ctx, topic); err != nil {
		return admin.StoreError(err)
	}
	qs, err := s.store.QueueList(ctx, topic)
	if err != nil {
		return admin.StoreError(err)
	}
	out := make([]QueueInfo, len(qs))
	for i, q := range qs {
		out[i] = QueueInfo{QueueID: q.QueueID, LiteTopic: q.LiteTopic, MinOffset: q.MinOffset, MaxOffset: q.NextOffset}
	}
	return c.JSON(http.StatusOK, map[string]any{"queues": out})
}

func topicView(tenant Tenant, t metadata.Topic) Topic {
	v := Topic{Name: tenant.Show(t.Name), Type: t.Type, Queues: t.Queues, RetentionHours: t.RetentionHours,
		LiteTTLMinutes: t.LiteTTLMinutes, Trace: t.Trace, CreatedAt: t.CreatedAt.UTC(), DeduplicationWindowSeconds: t.DedupWindowSeconds}
	if t.Type == metadata.TopicPriority {
		v.MaxPriority, v.PriorityAgingSeconds = &t.MaxPriority, &t.PriorityAgingSeconds
	}
	return v
}
