package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

func (s *adminRoutes) registerGroups(e *echo.Echo) {
	e.POST("/v1/groups", s.createGroup)
	e.GET("/v1/groups", s.listGroups)
	e.GET("/v1/groups/:group", s.getGroup)
	e.DELETE("/v1/groups/:group", s.deleteGroup)
	e.PATCH("/v1/groups/:group", s.patchGroup)
	e.PUT("/v1/groups/:group/subscriptions/:topic", s.putSubscription)
	e.PATCH("/v1/groups/:group/subscriptions/:topic", s.patchSubscription)
	e.DELETE("/v1/groups/:group/subscriptions/:topic", s.deleteSubscription)
}

type createGroupRequest struct {
	Name                string `json:"name"`
	DeliveryOrder       string `json:"deliveryOrder"`
	MaxDeliveryAttempts *int   `json:"maxDeliveryAttempts"`
	RetryPolicy         *struct {
		BackoffSeconds []int `json:"backoffSeconds"`
	} `json:"retryPolicy"`
}

func (s *adminRoutes) createGroup(c echo.Context) error {
	var req createGroupRequest
	if err := DecodeJSON(c, MaxCreateRequestBytes, &req); err != nil {
		return err
	}
	if err := domain.CheckName("group", req.Name); err != nil {
		return err
	}
	tenant := TenantOf(c)
	spec := admin.GroupSpec{Name: tenant.Stored(req.Name), DeliveryOrder: req.DeliveryOrder, MaxDeliveryAttempts: req.MaxDeliveryAttempts}
	if req.RetryPolicy != nil {
		spec.BackoffSeconds = &req.RetryPolicy.BackoffSeconds
	}
	got, created, err := s.GroupCreate(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	view, err := s.groupView(c, got)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, view)
}

// groupView shows a stored group with the caller's names.
func (s *adminRoutes) groupView(c echo.Context, g metadata.Group) (Group, error) {
	subs, err := s.store.SubscriptionList(c.Request().Context(), g.Name)
	if err != nil {
		return Group{}, admin.StoreError(err)
	}
	tenant := TenantOf(c)
	v := Group{Name: tenant.Show(g.Name), DeliveryOrder: g.DeliveryOrder, MaxDeliveryAttempts: g.MaxDeliveryAttempts,
		RetryPolicy: RetryPolicy{BackoffSeconds: g.BackoffSeconds}, Subscriptions: []Subscription{}, CreatedAt: g.CreatedAt.UTC()}
	for _, sub := range subs {
		lites, err := s.store.LiteSubscriptionList(c.Request().Context(), g.Name, sub.Topic)
		if err != nil {
			return Group{}, admin.StoreError(err)
		}
		v.Subscriptions = append(v.Subscriptions, Subscription{Topic: tenant.Show(sub.Topic), FilterType: sub.FilterType, Filter: sub.Filter, LiteTopics: lites})
	}
	return v, nil
}

func (s *adminRoutes) listGroups(c echo.Context) error {
	gs, err := s.store.GroupList(c.Request().Context())
	if err != nil {
		return admin.StoreError(err)
	}
	tenant := TenantOf(c)
	out := []Group{}
	for _, g := range gs {
		if _, ok := tenant.Visible(g.Name); !ok {
			continue
		}
		v, err := s.groupView(c, g)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": out})
}

func (s *adminRoutes) getGroup(c echo.Context) error {
	group, err := TenantOf(c).Param(c, "group")
	if err != nil {
		return err
	}
	g, err := s.store.GroupGet(c.Request().Context(), group)
	if err != nil {
		return admin.GroupError(err)
	}
	v, err := s.groupView(c, g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *adminRoutes) deleteGroup(c echo.Context) error {
	group, err := TenantOf(c).Param(c, "group")
	if err != nil {
		return err
	}
	if err := s.store.GroupDelete(c.Request().Context(), group); err != nil {
		return admin.GroupError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

type subscriptionRequest struct {
	Filter *string `json:"filter"`
	// FilterType is TAG (default) or SQL92.
	FilterType string   `json:"filterType"`
	LiteTopics []string `json:"liteTopics"`
}

func (s *adminRoutes) putSubscription(c echo.Context) error {
	var req subscriptionRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	if err := domain.CheckName("group", c.Param("group")); err != nil {
		return err
	}
	if err := domain.CheckName("topic", c.Param("topic")); err != nil {
		return err
	}
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, topic, err := tenant.GroupTopic(c)
	if err != nil {
		return err
	}
	topicType := ""
	if t, err := s.store.TopicGet(ctx, topic); err == nil {
		topicType = t.Type
	}
	if topicType != metadata.TopicLite && len(req.LiteTopics) > 0 {
		return domain.Errorf(domain.ErrMessageTypeMismatch, "liteTopics apply to LITE topics only")
	}
	filterType, expr, err := admin.SubscriptionFilter(topicType, req.FilterType, req.Filter)
	if err != nil {
		return err
	}
	if topicType == metadata.TopicLite {
		return s.changeLite(c, req.LiteTopics, nil, true)
	}
	sub, created, err := s.SubscriptionPut(ctx, group, topic, filterType, expr)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, map[string]any{"group": tenant.Show(sub.Group), "topic": tenant.Show(sub.Topic), "filterType": sub.FilterType, "filter": sub.Filter})
}

type patchSubscriptionRequest struct {
	AddLiteTopics    []string `json:"addLiteTopics"`
	RemoveLiteTopics []string `json:"removeLiteTopics"`
}

func (s *adminRoutes) patchSubscription(c echo.Context) error {
	var req patchSubscriptionRequest
	if err := DecodeJSON(c, maxRequestBytes, &req); err != nil {
		return err
	}
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	t, err := s.store.TopicGet(c.Request().Context(), topic)
	if err != nil {
		return admin.StoreError(err)
	}
	if t.Type != metadata.TopicLite {
		return domain.Errorf(domain.ErrMessageTypeMismatch, "PATCH changes lite topic subscriptions; %s is %s", c.Param("topic"), t.Type)
	}
	return s.changeLite(c, req.AddLiteTopics, req.RemoveLiteTopics, false)
}

// maxLiteTopicsPerCall bounds one subscription change.
const maxLiteTopicsPerCall = 100_000

func (s *adminRoutes) changeLite(c echo.Context, add, remove []string, replace bool) error {
	if err := domain.CheckName("group", c.Param("group")); err != nil {
		return err
	}
	if len(add)+len(remove) > maxLiteTopicsPerCall {
		return domain.Errorf(domain.ErrBadRequest, "at most %d lite topics per call", maxLiteTopicsPerCall)
	}
	for _, l := range append(append([]string{}, add...), remove...) {
		if err := domain.CheckName("lite topic", l); err != nil {
			return err
		}
	}
	if add == nil {
		add = []string{}
	}
	tenant := TenantOf(c)
	group, topic, err := tenant.GroupTopic(c)
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(c.Request().Context(), group); err != nil {
		return admin.GroupError(err)
	}
	err = s.store.LiteSubscriptionChange(c.Request().Context(), group, topic, add, remove, replace)
	if err != nil {
		return admin.StoreError(err)
	}
	lites, err := s.store.LiteSubscriptionList(c.Request().Context(), group, topic)
	if err != nil {
		return admin.StoreError(err)
	}
	if lites == nil {
		lites = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{"group": c.Param("group"), "topic": c.Param("topic"), "filter": "*", "liteTopics": lites})
}

func (s *adminRoutes) deleteSubscription(c echo.Context) error {
	group, topic, err := TenantOf(c).GroupTopic(c)
	if err != nil {
		return err
	}
	err = s.store.SubscriptionDelete(c.Request().Context(), group, topic)
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrSubscriptionNotFound, "%v", err)
	}
	if err != nil {
		return admin.StoreError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
