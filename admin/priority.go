package admin

import (
	"net/http"

	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/metadata"
)

// priorityFromRequest checks and applies the settings of a PRIORITY topic: its levels
// (maxPriority, default 9), its aging step (priorityAgingSeconds, default 60) and its
// queues, a whole number per level (default one per level).
func priorityFromRequest(req createTopicRequest, t *metadata.Topic) error {
	bad := func(format string, args ...any) error {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, format, args...)
	}
	if t.Type != metadata.TopicPriority {
		if req.MaxPriority != nil || req.PriorityAgingSeconds != nil {
			return bad("maxPriority and priorityAgingSeconds apply to PRIORITY topics only")
		}
		return nil
	}
	t.MaxPriority, t.PriorityAgingSeconds = DefaultMaxPriority, DefaultPriorityAgingSeconds
	if req.MaxPriority != nil {
		if *req.MaxPriority < 1 || *req.MaxPriority > MaxMaxPriority {
			return bad("maxPriority must be 1-%d", MaxMaxPriority)
		}
		t.MaxPriority = *req.MaxPriority
	}
	if req.PriorityAgingSeconds != nil {
		if *req.PriorityAgingSeconds < 1 || *req.PriorityAgingSeconds > MaxPriorityAgingSeconds {
			return bad("priorityAgingSeconds must be 1-%d (a day)", MaxPriorityAgingSeconds)
		}
		t.PriorityAgingSeconds = *req.PriorityAgingSeconds
	}
	levels := t.MaxPriority + 1
	if req.Queues == nil {
		t.Queues = levels
		return nil
	}
	if *req.Queues%levels != 0 {
		return bad("queues of a PRIORITY topic must be a multiple of its %d priority levels (queue q holds priority q %% %d), got %d", levels, levels, *req.Queues)
	}
	return nil
}
