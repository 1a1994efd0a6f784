package admin

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/presence"
)

func (s *Service) registerClients(e *echo.Echo) {
	e.GET("/v1/groups/:group/clients", s.groupClients)
	e.GET("/v1/topics/:topic/producers", s.topicProducers)
}

// groupClients lists the consumers of a group that any node saw recently, with the
// filter each consumes with: the one a RocketMQ client declared, else the group's.
func (s *Service) groupClients(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := httpapi.TenantOf(c)
	group, err := tenant.Param(c, "group")
	if err != nil {
		return err
	}
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return groupError(err)
	}
	clients, err := s.clients(c, metadata.ClientsOfGroup, group)
	if err != nil {
		return err
	}
	subs, err := s.store.SubscriptionList(ctx, group)
	if err != nil {
		return storeError(err)
	}
	for i := range clients {
		cl := &clients[i]
		for _, t := range cl.Topics {
			if slices.ContainsFunc(cl.Subscriptions, func(s httpapi.ClientSubscription) bool { return s.Topic == t }) {
				continue
			}
			for _, sub := range subs {
				if sub.Topic == t {
					cl.Subscriptions = append(cl.Subscriptions, httpapi.ClientSubscription{Topic: t, FilterType: sub.FilterType, Filter: sub.Filter})
				}
			}
		}
		for j := range cl.Subscriptions {
			cl.Subscriptions[j].Topic = tenant.Show(cl.Subscriptions[j].Topic)
		}
	}
	return c.JSON(http.StatusOK, httpapi.ClientsResponse{Group: c.Param("group"), Clients: clients})
}

// topicProducers lists the producers of a topic that any node saw recently.
func (s *Service) topicProducers(c echo.Context) error {
	topic, err := httpapi.TenantOf(c).Param(c, "topic")
	if err != nil {
		return err
	}
	if _, err := s.store.TopicGet(c.Request().Context(), topic); err != nil {
		return storeError(err)
	}
	clients, err := s.clients(c, metadata.ClientsOfTopic, topic)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ClientsResponse{Topic: c.Param("topic"), Clients: clients})
}

// clients merges what every node published in the last presence.Fresh for one group or
// topic, topics named as the caller names them.
func (s *Service) clients(c echo.Context, kind, name string) ([]httpapi.ConnectedClient, error) {
	rows, err := s.store.ClientsList(c.Request().Context(), kind, name, time.Now().Add(-presence.Fresh))
	if err != nil {
		return nil, storeError(err)
	}
	clients, err := presence.Merge(rows)
	if err != nil {
		return nil, err
	}
	tenant := httpapi.TenantOf(c)
	for i := range clients {
		for j, t := range clients[i].Topics {
			clients[i].Topics[j] = tenant.Show(t)
		}
	}
	return clients, nil
}
