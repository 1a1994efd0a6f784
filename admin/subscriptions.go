package admin

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/filter"
	"github.com/floemq/floe/metadata"
)

// SubscriptionFilter is the rule for a subscription's filter on a topic of type
// topicType: a LITE topic is consumed by lite topic, so its filter can only be TAG `*`;
// any other topic takes a TAG or SQL92 expression (filterType "" is TAG, expr nil is
// `*`). It returns the filter as a subscription stores it, or ErrInvalidFilter.
func SubscriptionFilter(topicType, filterType string, expr *string) (typ, stored string, err error) {
	if topicType == metadata.TopicLite {
		if (expr != nil && strings.TrimSpace(*expr) != "*") || (filterType != "" && !strings.EqualFold(filterType, filter.Tag)) {
			return "", "", domain.Errorf(domain.ErrInvalidFilter, "a LITE topic subscription names lite topics, not a filter")
		}
		return filter.Tag, "*", nil
	}
	stored = "*"
	if expr != nil {
		stored = *expr
	}
	typ = strings.ToUpper(cmp.Or(strings.TrimSpace(filterType), filter.Tag))
	if _, stored, err = filter.Parse(typ, stored); err != nil {
		return "", "", domain.Errorf(domain.ErrInvalidFilter, "%v", err)
	}
	return typ, stored, nil
}

// SubscriptionPut makes an existing group subscribe to topic with a checked filter
// (SubscriptionFilter), replacing the one it had; created says it had none.
func (s *Service) SubscriptionPut(ctx context.Context, group, topic, typ, expr string) (metadata.Subscription, bool, error) {
	if _, err := s.store.GroupGet(ctx, group); err != nil {
		return metadata.Subscription{}, false, GroupError(err)
	}
	sub, created, err := s.store.SubscriptionPut(ctx, group, topic, typ, expr)
	if err != nil {
		return sub, false, StoreError(err)
	}
	return sub, created, nil
}

// SubscriptionEnsure makes group subscribe to topic with a checked filter, writing only
// when the stored subscription differs (RocketMQ clients declare their subscriptions on
// every connection). A LITE topic's subscription is its set of lite topics: ensuring it
// adds none.
func (s *Service) SubscriptionEnsure(ctx context.Context, group, topic, typ, expr string, lite bool) error {
	if lite {
		if err := s.store.LiteSubscriptionChange(ctx, group, topic, []string{}, nil, false); err != nil {
			return domain.Errorf(domain.ErrUnavailable, "subscribing %s to lite topic %s: %v", group, topic, err)
		}
		return nil
	}
	cur, err := s.store.SubscriptionGet(ctx, group, topic)
	if errors.Is(err, metadata.ErrNotFound) || (err == nil && (cur.Filter != expr || cur.FilterType != typ)) {
		_, _, err = s.store.SubscriptionPut(ctx, group, topic, typ, expr)
	}
	if err != nil {
		return domain.Errorf(domain.ErrUnavailable, "subscribing %s to %s: %v", group, topic, err)
	}
	return nil
}
