package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// pacer hands out the intended start times of a fixed-rate schedule shared by all
// producers: request k starts at start + k*interval, whoever sends it. A producer takes the
// next slot when it is free and sleeps until the slot's time, or sends at once if the slot
// is already past; measuring latency from the slot's time, not from the late actual start,
// is what corrects for coordinated omission.
type pacer struct {
	start time.Time
	// interval is the time between two requests in nanoseconds, kept fractional so a rate
	// that does not divide a second evenly does not drift.
	interval float64
	next     atomic.Int64
}

// newPacer returns the schedule for messagesPerSec sent batchSize messages per request.
func newPacer(start time.Time, messagesPerSec, batchSize int) *pacer {
	return &pacer{
		start:    start,
		interval: float64(batchSize) * float64(time.Second) / float64(messagesPerSec),
	}
}

// slot returns the intended start time of the next request. It is safe for concurrent use.
func (p *pacer) slot() time.Time {
	k := p.next.Add(1) - 1
	return p.start.Add(time.Duration(float64(k) * p.interval))
}

// slotsBefore returns how many slots of the schedule start before t.
func (p *pacer) slotsBefore(t time.Time) int64 {
	d := t.Sub(p.start)
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(d) / p.interval))
}
