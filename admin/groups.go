package admin

import (
	"context"
	"errors"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// DefaultBackoffSeconds is RocketMQ's retry schedule: 10 s up to 2 h.
var DefaultBackoffSeconds = []int{10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200}

// CheckMaxDeliveryAttempts checks a group's maxDeliveryAttempts.
func CheckMaxDeliveryAttempts(v int) error {
	if v < 1 || v > MaxMaxDeliveryAttempts {
		return domain.Errorf(domain.ErrBadRequest, "maxDeliveryAttempts must be 1-%d", MaxMaxDeliveryAttempts)
	}
	return nil
}

// CheckBackoff checks a group's retry backoff schedule.
func CheckBackoff(b []int) error {
	if len(b) == 0 || len(b) > maxBackoffSteps {
		return domain.Errorf(domain.ErrBadRequest, "retryPolicy.backoffSeconds must hold 1-%d values", maxBackoffSteps)
	}
	for _, v := range b {
		if v < 0 || v > maxBackoffSeconds {
			return domain.Errorf(domain.ErrBadRequest, "each backoff must be 0-%d seconds", maxBackoffSeconds)
		}
	}
	return nil
}

// CheckDeliveryOrder checks a group's delivery order.
func CheckDeliveryOrder(o string) error {
	if o != metadata.OrderConcurrent && o != metadata.OrderOrderly {
		return domain.Errorf(domain.ErrBadRequest, "deliveryOrder must be CONCURRENT or ORDERLY, not %q", o)
	}
	return nil
}

// Limits on group settings.
const (
	DefaultMaxDeliveryAttempts = 16
	MaxMaxDeliveryAttempts     = 1000
	maxBackoffSteps            = 64
	maxBackoffSeconds          = 7 * 24 * 3600
)

// NewGroup returns the settings of a group nobody configured: CONCURRENT, with the
// default delivery attempts and backoff. A group a RocketMQ client names first is made
// with them, and a group created over HTTP starts from them.
func NewGroup(name string) metadata.Group {
	return metadata.Group{Name: name, DeliveryOrder: metadata.OrderConcurrent,
		MaxDeliveryAttempts: DefaultMaxDeliveryAttempts, BackoffSeconds: DefaultBackoffSeconds}
}

// GroupSpec is a group to create; the zero value of a field keeps NewGroup's setting.
type GroupSpec struct {
	// Name is the stored name.
	Name string
	// DeliveryOrder is CONCURRENT or ORDERLY.
	DeliveryOrder string
	// MaxDeliveryAttempts, when set, bounds the deliveries of a message.
	MaxDeliveryAttempts *int
	// BackoffSeconds, when set, is the retry schedule.
	BackoffSeconds *[]int
}

// GroupCreate checks a group's settings and creates it. A group of that name with the
// same settings is returned as is (created false); one with other settings is
// ErrGroupExists.
func (s *Service) GroupCreate(ctx context.Context, spec GroupSpec) (g metadata.Group, created bool, err error) {
	g = NewGroup(spec.Name)
	if spec.DeliveryOrder != "" {
		g.DeliveryOrder = spec.DeliveryOrder
	}
	if err := CheckDeliveryOrder(g.DeliveryOrder); err != nil {
		return g, false, err
	}
	if spec.MaxDeliveryAttempts != nil {
		if err := CheckMaxDeliveryAttempts(*spec.MaxDeliveryAttempts); err != nil {
			return g, false, err
		}
		g.MaxDeliveryAttempts = *spec.MaxDeliveryAttempts
	}
	if spec.BackoffSeconds != nil {
		if err := CheckBackoff(*spec.BackoffSeconds); err != nil {
			return g, false, err
		}
		g.BackoffSeconds = *spec.BackoffSeconds
	}
	got, created, err := s.store.GroupCreate(ctx, g)
	if errors.Is(err, metadata.ErrConflict) {
		return got, false, domain.Errorf(domain.ErrGroupExists, "group %s exists with other settings", spec.Name)
	}
	if err != nil {
		return got, false, StoreError(err)
	}
	return got, created, nil
}

// GroupEnsure returns a consumer group, creating it with NewGroup's settings when it does
// not exist (created true): RocketMQ creates groups on first use.
func (s *Service) GroupEnsure(ctx context.Context, name string) (g metadata.Group, created bool, err error) {
	g, err = s.store.GroupGet(ctx, name)
	if err == nil {
		return g, false, nil
	}
	if !errors.Is(err, metadata.ErrNotFound) {
		return g, false, domain.Errorf(domain.ErrUnavailable, "reading consumer group %s: %v", name, err)
	}
	g, _, err = s.store.GroupCreate(ctx, NewGroup(name))
	if err != nil {
		return g, false, domain.Errorf(domain.ErrUnavailable, "creating consumer group %s: %v", name, err)
	}
	return g, true, nil
}
