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
	ok, _, retryAfter = l.TakeAll(keyID, Tokens{Quota: quota, N: n})
	return ok, retryAfter
}

// Tokens is a number of tokens of one quota.
type Tokens struct {
	Quota string
	N     int
}

// TakeAll takes every one of takes from the key's buckets, or nothing: when one bucket
// holds too few (as Take decides), it returns that quota and how long until it would hold
// enough, so a refused request costs no quota.
func (l *Limiter) TakeAll(keyID string, takes ...Tokens) (ok bool, quota string, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	buckets := make([]*bucket, len(takes))
	for i, t := range takes {
		rate := l.rates[t.Quota]
		if rate <= 0 || t.N <= 0 {
			continue
		}
		burst := math.Max(rate, 1)
		b := l.buckets[keyID+"/"+t.Quota]
		if b == nil {
			b = &bucket{tokens: burst, last: now}
			l.buckets[keyID+"/"+t.Quota] = b
		}
		if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
			b.tokens = math.Min(burst, b.tokens+elapsed*rate)
		}
		b.last = now
		need := math.Min(float64(t.N), burst)
		if b.tokens < need {
			return false, t.Quota, time.Duration((need - b.tokens) / rate * float64(time.Second))
		}
		buckets[i] = b
	}
	for i, b := range buckets {
		if b != nil {
			b.tokens -= float64(takes[i].N)
		}
	}
	return true, "", 0
}
