package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/admin"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/presence"
)

func (s *adminRoutes) registerClients(e *echo.Echo) {
	e.GET("/v1/groups/:group/clients", s.groupClients)
	e.GET("/v1/topics/:topic/producers", s.topicProducers)
}

// groupClients lists the consumers of a group that any node saw recently, with the
// filter each consumes with: the one a RocketMQ client declared, else the group's.
func (s *adminRoutes) groupClients(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return admin.GroupError(err)
	}
	clients, err := s.clients(c, metadata.ClientsOfGroup, group)
	if err != nil {
		return err
	}
	subs, err := s.store.SubscriptionList(ctx, group)
	if err != nil {
		return admin.StoreError(err)
	}
	for i := range clients {
		cl := &clients[i]
		for _, t := range cl.Topics {
			if slices.ContainsFunc(cl.Subscriptions, func(s ClientSubscription) bool { return s.Topic == t }) {
				continue
			}
			for _, sub := range subs {
				if sub.Topic == t {
					cl.Subscriptions = append(cl.Subscriptions, ClientSubscription{Topic: t, FilterType: sub.FilterType, Filter: sub.Filter})
				}
			}
		}
		for j := range cl.Subscriptions {
			cl.Subscriptions[j].Topic = tenant.Show(cl.Subscriptions[j].Topic)
		}
	}
	return c.JSON(http.StatusOK, ClientsResponse{Group: c.Param("group"), Clients: clients})
}

// topicProducers lists the producers of a topic that any node saw recently.
func (s *adminRoutes) topicProducers(c echo.Context) error {
	topic, err := TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if _, err := s.store.TopicGet(c.Request().Context(), topic); err != nil {
		return admin.StoreError(err)
	}
	clients, err := s.clients(c, metadata.ClientsOfTopic, topic)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ClientsResponse{Topic: c.Param("topic"), Clients: clients})
}

// clients merges what every node published in the last presence.Fresh for one group or
// topic, topics named as the caller names them.
func (s *adminRoutes) clients(c echo.Context, kind, name string) ([]ConnectedClient, error) {
	rows, err := s.store.ClientsList(c.Request().Context(), kind, name, time.Now().Add(-presence.Fresh))
	if err != nil {
		return nil, admin.StoreError(err)
	}
	clients, err := presence.Merge(rows)
	if err != nil {
		return nil, err
	}
	tenant := TenantOf(c)
	for i := range clients {
		for j, t := range clients[i].Topics {
			clients[i].Topics[j] = tenant.Show(t)
		}
	}
	return clients, nil
}
