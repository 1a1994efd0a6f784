package ingest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floemq/floe/internal/ttlcache"
	"github.com/floemq/floe/metadata"
)

// topicInfo is what routing needs of a topic: its type and its queues by queue id.
type topicInfo struct {
	topic  metadata.Topic
	queues []metadata.Queue
	rr     atomic.Uint64
}

// topicCache keeps topic settings for a short TTL, so a send costs no Postgres read, and
// the queues of lite topics, which never change once created.
type topicCache struct {
	store  *metadata.Store
	topics *ttlcache.Cache[string, *topicInfo]

	mu   sync.Mutex
	lite map[liteKey]metadata.Queue
}

func newTopicCache(store *metadata.Store, ttl time.Duration, now func() time.Time) *topicCache {
	return &topicCache{store: store, topics: ttlcache.New[string, *topicInfo](ttlcache.Config{TTL: ttl, Now: now})}
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
	return c.topics.Get(ctx, name, func(ctx context.Context) (*topicInfo, error) {
		t, err := c.store.TopicGet(ctx, name)
		if err != nil {
			return nil, err
		}
		qs, err := c.store.QueueList(ctx, name)
		if err != nil {
			return nil, err
		}
		fresh := &topicInfo{topic: t, queues: qs}
		if old, ok := c.topics.Peek(name); ok {
			// Round-robin goes on where it was rather than restarting at queue 0.
			fresh.rr.Store(old.rr.Load())
		}
		return fresh, nil
	})
}

func (c *topicCache) forget(name string) {
	c.topics.Delete(name)
	c.mu.Lock()
	for k := range c.lite {
		if k.topic == name {
			delete(c.lite, k)
		}
	}
	c.mu.Unlock()
}
