package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/metadata"
)

// topicInfo is what routing needs of a topic: its type and its queues by queue id.
type topicInfo struct {
	topic   metadata.Topic
	queues  []metadata.Queue
	rr      atomic.Uint64
	expires time.Time
}

// topicCache keeps topic settings for a short TTL, so a send costs no Postgres read.
type topicCache struct {
	store *metadata.Store
	ttl   time.Duration
	now   func() time.Time

	mu     sync.Mutex
	topics map[string]*topicInfo
	lite   map[liteKey]metadata.Queue
}

type liteKey struct{ topic, lite string }

// maxLiteCache bounds the lite queues remembered; past it the cache starts over.
const maxLiteCache = 100_000

// liteQueue returns a lite topic's queue, creating it on first use.
func (c *topicCache) liteQueue(ctx context.Context, topic, lite string) (metadata.Queue, error) {
	k := liteKey{topic, lite}
	c.mu.Lock()
	q, ok := c.lite[k]
	c.mu.Unlock()
	if ok {
		return q, nil
	}
	q, err := c.store.LiteQueueEnsure(ctx, topic, lite)
	if err != nil {
		return q, err
	}
	c.mu.Lock()
	if c.lite == nil || len(c.lite) >= maxLiteCache {
		c.lite = map[liteKey]metadata.Queue{}
	}
	c.lite[k] = q
	c.mu.Unlock()
	return q, nil
}

func (c *topicCache) get(ctx context.Context, name string) (*topicInfo, error) {
	c.mu.Lock()
	ti, ok := c.topics[name]
	c.mu.Unlock()
	if ok && c.now().Before(ti.expires) {
		return ti, nil
	}
	t, err := c.store.TopicGet(ctx, name)
	if err != nil {
		return nil, err
	}
	qs, err := c.store.QueueList(ctx, name)
	if err != nil {
		return nil, err
	}
	fresh := &topicInfo{topic: t, queues: qs, expires: c.now().Add(c.ttl)}
	if ok {
		fresh.rr.Store(ti.rr.Load())
	}
	c.mu.Lock()
	c.topics[name] = fresh
	c.mu.Unlock()
	return fresh, nil
}

func (c *topicCache) forget(name string) {
	c.mu.Lock()
	delete(c.topics, name)
	for k := range c.lite {
		if k.topic == name {
			delete(c.lite, k)
		}
	}
	c.mu.Unlock()
}
