package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DeliveryOrder is how a consumer group receives the messages of one message group.
type DeliveryOrder string

// The delivery orders of the contract.
const (
	// Concurrent delivers messages in parallel, in no particular order.
	Concurrent DeliveryOrder = "CONCURRENT"
	// Orderly delivers the next message of a FIFO message group only after the previous
	// one is acked or dead-lettered.
	Orderly DeliveryOrder = "ORDERLY"
)

// RetryPolicy is when a failed message is delivered again.
type RetryPolicy struct {
	// BackoffSeconds[i] is the wait before delivery attempt i+2; the last value repeats.
	BackoffSeconds []int `json:"backoffSeconds,omitempty"`
}

// GroupSpec is the body of POST /v1/groups. Zero fields are left out, so the server's
// defaults apply (RocketMQ's retry schedule, for one).
type GroupSpec struct {
	// Name is the group's name.
	Name string `json:"name"`
	// DeliveryOrder is Concurrent or Orderly.
	DeliveryOrder DeliveryOrder `json:"deliveryOrder,omitempty"`
	// MaxDeliveryAttempts is how many deliveries a message gets before it is dead-lettered.
	MaxDeliveryAttempts int `json:"maxDeliveryAttempts,omitempty"`
	// RetryPolicy is the backoff between deliveries.
	RetryPolicy RetryPolicy `json:"retryPolicy,omitzero"`
}

// Group is a consumer group as the server returns it.
type Group struct {
	// Name is the group's name.
	Name string `json:"name"`
	// DeliveryOrder is Concurrent or Orderly.
	DeliveryOrder DeliveryOrder `json:"deliveryOrder"`
	// MaxDeliveryAttempts is how many deliveries a message gets before it is dead-lettered.
	MaxDeliveryAttempts int `json:"maxDeliveryAttempts"`
	// RetryPolicy is the backoff between deliveries.
	RetryPolicy RetryPolicy `json:"retryPolicy"`
	// Subscriptions are the group's subscriptions.
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	// CreatedAt is when the group was created.
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// Subscription is one topic a group consumes, with its filter.
type Subscription struct {
	// Topic is the subscribed topic.
	Topic string `json:"topic"`
	// FilterType is "TAG" or "SQL92".
	FilterType string `json:"filterType,omitempty"`
	// Filter is the tag expression, such as "TagA || TagB" or "*", or the SQL92 expression.
	Filter string `json:"filter,omitempty"`
	// LiteTopics are, for a LITE topic, the subscribed lite topics.
	LiteTopics []string `json:"liteTopics,omitempty"`
}

// SubscriptionSpec is the body of PUT /v1/groups/{group}/subscriptions/{topic}: a tag
// filter for most topics, lite topics for a LITE topic.
type SubscriptionSpec struct {
	// Filter is the tag expression, such as "TagA || TagB" or "*" for all, or with
	// FilterType SQL92 an expression over properties, such as "region = 'eu' AND amount > 100".
	Filter string `json:"filter,omitempty"`
	// FilterType is "TAG" (the default when empty) or "SQL92".
	FilterType string `json:"filterType,omitempty"`
	// LiteTopics are, for a LITE topic, the lite topics to consume.
	LiteTopics []string `json:"liteTopics,omitempty"`
}

// CreateGroup creates a consumer group (POST /v1/groups). created is true when the server
// made a new group (201) and false when an identical one already existed (200).
func (c *Client) CreateGroup(ctx context.Context, spec GroupSpec) (group Group, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, pathOf("v1", "groups"), nil, spec, &group)
	if err != nil {
		return Group{}, false, fmt.Errorf("creating group %s: %w", spec.Name, err)
	}
	return group, status == http.StatusCreated, nil
}

// GetGroup returns one consumer group (GET /v1/groups/{group}).
func (c *Client) GetGroup(ctx context.Context, name string) (Group, error) {
	var group Group
	if _, err := c.do(ctx, http.MethodGet, pathOf("v1", "groups", name), nil, nil, &group); err != nil {
		return Group{}, fmt.Errorf("getting group %s: %w", name, err)
	}
	return group, nil
}

// DeleteGroup deletes a consumer group (DELETE /v1/groups/{group}; a route the contract
// does not list yet).
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	if _, err := c.do(ctx, http.MethodDelete, pathOf("v1", "groups", name), nil, nil, nil); err != nil {
		return fmt.Errorf("deleting group %s: %w", name, err)
	}
	return nil
}

// Subscribe sets a group's subscription to a topic, replacing any previous one
// (PUT /v1/groups/{group}/subscriptions/{topic}).
func (c *Client) Subscribe(ctx context.Context, group, topic string, spec SubscriptionSpec) error {
	path := pathOf("v1", "groups", group, "subscriptions", topic)
	if _, err := c.do(ctx, http.MethodPut, path, nil, spec, nil); err != nil {
		return fmt.Errorf("subscribing group %s to topic %s: %w", group, topic, err)
	}
	return nil
}

// UpdateLiteSubscription adds and removes lite topics of a group's subscription to a LITE
// topic (PATCH /v1/groups/{group}/subscriptions/{topic}).
func (c *Client) UpdateLiteSubscription(ctx context.Context, group, topic string, add, remove []string) error {
	in := struct {
		AddLiteTopics    []string `json:"addLiteTopics,omitempty"`
		RemoveLiteTopics []string `json:"removeLiteTopics,omitempty"`
	}{add, remove}
	path := pathOf("v1", "groups", group, "subscriptions", topic)
	if _, err := c.do(ctx, http.MethodPatch, path, nil, in, nil); err != nil {
		return fmt.Errorf("updating lite topics of group %s on topic %s: %w", group, topic, err)
	}
	return nil
}

// Unsubscribe removes a group's subscription to a topic
// (DELETE /v1/groups/{group}/subscriptions/{topic}).
func (c *Client) Unsubscribe(ctx context.Context, group, topic string) error {
	path := pathOf("v1", "groups", group, "subscriptions", topic)
	if _, err := c.do(ctx, http.MethodDelete, path, nil, nil, nil); err != nil {
		return fmt.Errorf("unsubscribing group %s from topic %s: %w", group, topic, err)
	}
	return nil
}
