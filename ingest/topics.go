package ingest

import (
	"context"
	"fmt"
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

// liteQueues returns the queues of lite topics, creating the missing ones on first use,
// all in one Postgres transaction.
func (c *topicCache) liteQueues(ctx context.Context, topic string, lites []string) (map[string]metadata.Queue, error) {
	out := make(map[string]metadata.Queue, len(lites))
	var missing []string
	c.mu.Lock()
	for _, l := range lites {
		if q, ok := c.lite[liteKey{topic, l}]; ok {
			out[l] = q
		} else {
			missing = append(missing, l)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.store.LiteQueuesEnsure(ctx, topic, missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.lite == nil || len(c.lite)+len(got) > maxLiteCache {
		c.lite = map[liteKey]metadata.Queue{}
	}
	for l, q := range got {
		c.lite[liteKey{topic, l}] = q
		out[l] = q
	}
	c.mu.Unlock()
	for _, l := range missing {
		if _, ok := out[l]; !ok {
			return nil, fmt.Errorf("lite topic %s/%s vanished while created", topic, l)
		}
	}
	return out, nil
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
