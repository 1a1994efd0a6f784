package auth

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, holding at most one second's worth.
type bucket struct {
	tokens float64
	last   time.Time
}

// Limiter holds one token bucket per key and quota.
type Limiter struct {
	rates map[string]float64 // quota → tokens per second; absent or 0 = unlimited
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket // keyID + "/" + quota
}

// NewLimiter returns a limiter with the given rates per quota (0 = unlimited). now may be
// nil (time.Now).
func NewLimiter(rates map[string]float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rates: rates, now: now, buckets: map[string]*bucket{}}
}

// Take takes n tokens from the key's bucket of quota. When the bucket holds too few it
// takes none and returns how long until it would hold enough. A request larger than the
// bucket (n above one second's worth) passes when the bucket is full and leaves it in debt,
// so no request is refused forever.
func (l *Limiter) Take(keyID, quota string, n int) (ok bool, retryAfter time.Duration) {
	rate := l.rates[quota]
	if rate <= 0 || n <= 0 {
		return true, 0
	}
	burst := math.Max(rate, 1)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[keyID+"/"+quota]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[keyID+"/"+quota] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed*rate)
	}
	b.last = now
	need := math.Min(float64(n), burst)
	if b.tokens < need {
		return false, time.Duration((need - b.tokens) / rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}
