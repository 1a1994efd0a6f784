package admin

import (
	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// Limits on the settings of PRIORITY topics and deduplication windows.
const (
	// DefaultMaxPriority gives a PRIORITY topic priorities 0-9, as ApsaraMQ does.
	DefaultMaxPriority = 9
	// MaxMaxPriority bounds a PRIORITY topic's priorities to 0-99.
	MaxMaxPriority = 99
	// DefaultPriorityAgingSeconds: a message rises one level per minute of waiting
	// against newer messages.
	DefaultPriorityAgingSeconds = 60
	// MaxPriorityAgingSeconds is a day.
	MaxPriorityAgingSeconds = 24 * 3600
	// MaxDedupWindowSeconds is a day.
	MaxDedupWindowSeconds = 24 * 3600
)

// TopicPriority checks and applies the settings of a new PRIORITY topic: its levels
// (maxPriority, default 9), its aging step (priorityAgingSeconds, default 60) and its
// queues, a whole number per level (default one per level; queues nil when not given).
// For other types it refuses the two priority settings.
func TopicPriority(t *metadata.Topic, maxPriority, agingSeconds, queues *int) error {
	bad := func(format string, args ...any) error { return domain.Errorf(domain.ErrBadRequest, format, args...) }
	if t.Type != metadata.TopicPriority {
		if maxPriority != nil || agingSeconds != nil {
			return bad("maxPriority and priorityAgingSeconds apply to PRIORITY topics only")
		}
		return nil
	}
	t.MaxPriority, t.PriorityAgingSeconds = DefaultMaxPriority, DefaultPriorityAgingSeconds
	if maxPriority != nil {
		if *maxPriority < 1 || *maxPriority > MaxMaxPriority {
			return bad("maxPriority must be 1-%d", MaxMaxPriority)
		}
		t.MaxPriority = *maxPriority
	}
	if agingSeconds != nil {
		if *agingSeconds < 1 || *agingSeconds > MaxPriorityAgingSeconds {
			return bad("priorityAgingSeconds must be 1-%d (a day)", MaxPriorityAgingSeconds)
		}
		t.PriorityAgingSeconds = *agingSeconds
	}
	levels := t.MaxPriority + 1
	if queues == nil {
		t.Queues = levels
		return nil
	}
	if *queues%levels != 0 {
		return bad("queues of a PRIORITY topic must be a multiple of its %d priority levels (queue q holds priority q %% %d), got %d", levels, levels, *queues)
	}
	return nil
}

// TopicDedupWindow checks and applies a new topic's deduplication window (nil: the
// default, 5 minutes).
func TopicDedupWindow(t *metadata.Topic, seconds *int) error {
	t.DedupWindowSeconds = metadata.DefaultDedupWindowSeconds
	if seconds == nil {
		return nil
	}
	if *seconds < 1 || *seconds > MaxDedupWindowSeconds {
		return domain.Errorf(domain.ErrBadRequest, "deduplicationWindowSeconds must be 1-%d (a day)", MaxDedupWindowSeconds)
	}
	t.DedupWindowSeconds = *seconds
	return nil
}
