package metadata_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
)

// A lite topic past its TTL without messages is removed with its subscriptions; one with
// recent traffic, or under a topic without TTL, stays.
func TestLiteTopicsExpire(t *testing.T) {
	t.Parallel()
	url := testenv.Database(t)
	ctx := context.Background()
	s := testenv.Store(t, metadata.Config{URL: url}, nil)
	for _, tt := range []metadata.Topic{
		{Name: "ttl", Type: metadata.TopicLite, Queues: 1, RetentionHours: 1, LiteTTLMinutes: 15},
		{Name: "forever", Type: metadata.TopicLite, Queues: 1, RetentionHours: 1},
	} {
		_, _, err := s.TopicCreate(ctx, tt)
		require.NoError(t, err)
	}
	_, _, err := s.GroupCreate(ctx, metadata.Group{Name: "g", DeliveryOrder: metadata.OrderConcurrent, MaxDeliveryAttempts: 3, BackoffSeconds: []int{1}})
	require.NoError(t, err)
	require.NoError(t, s.LiteSubscriptionChange(ctx, "g", "ttl", []string{"old", "fresh"}, nil, true))
	first, err := s.LiteQueuesEnsure(ctx, "ttl", []string{"old", "fresh"})
	require.NoError(t, err)
	require.Len(t, first, 2)
	_, err = s.LiteQueuesEnsure(ctx, "forever", []string{"old"})
	require.NoError(t, err)
	againAll, err := s.LiteQueuesEnsure(ctx, "ttl", []string{"old"})
	require.NoError(t, err)
	again := againAll["old"]
	require.Equal(t, first["old"].Ref, again.Ref, "ensuring twice returns the same queue")
	qs, err := s.GroupQueues(ctx, "g", "ttl")
	require.NoError(t, err)
	require.Len(t, qs, 2, "a lite topic created after the subscription gets the group's cursor")

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `UPDATE queues SET last_write_at = now() - interval '16 minutes' WHERE lite_topic = 'old'`)
	require.NoError(t, err)

	n, err := s.LiteTopicsExpire(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.LiteQueueGet(ctx, "ttl", "old")
	require.ErrorIs(t, err, metadata.ErrNotFound)
	_, err = s.LiteQueueGet(ctx, "ttl", "fresh")
	require.NoError(t, err)
	_, err = s.LiteQueueGet(ctx, "forever", "old")
	require.NoError(t, err, "a topic without TTL keeps its lite topics")
	lites, err := s.LiteSubscriptionList(ctx, "g", "ttl")
	require.NoError(t, err)
	require.Equal(t, []string{"fresh"}, lites)

	// A message to the expired lite topic creates it anew.
	freshAll, err := s.LiteQueuesEnsure(ctx, "ttl", []string{"old"})
	require.NoError(t, err)
	require.NotEqual(t, again.Ref, freshAll["old"].Ref)
}
