package admin

import (
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
