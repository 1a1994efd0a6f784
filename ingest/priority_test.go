package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/httpapi"
	"github.com/floemq/floe/ingest"
	"github.com/floemq/floe/metadata"
)

// A PRIORITY topic's messages go to a queue of their level (queue q holds priority
// q % levels), spread over the level's queues; priorities out of range, or missing, are
// refused and nothing is stored.
func TestPriorityRoutesToTheQueuesOfItsLevel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 5 * time.Millisecond}, nil)
	ctx := context.Background()
	_, _, err := e.store.TopicCreate(ctx, metadata.Topic{Name: "prio", Type: metadata.TopicPriority, Queues: 8, RetentionHours: 1,
		MaxPriority: 3, PriorityAgingSeconds: 60})
	require.NoError(t, err)
	p := func(n int) *int { return &n }
	for _, tc := range []struct {
		msg  domain.Message
		code string
	}{
		{domain.Message{Body: []byte("x")}, httpapi.CodeMessageTypeMismatch},
		{domain.Message{Body: []byte("x"), Priority: p(4)}, httpapi.CodeInvalidPriority},
		{domain.Message{Body: []byte("x"), Priority: p(-1)}, httpapi.CodeInvalidPriority},
	} {
		_, err := e.svc.Produce(ctx, "prio", []domain.Message{tc.msg})
		require.Equal(t, tc.code, httpapi.AnswerOf(err).Code)
	}
	require.Zero(t, e.totalStored(t))

	seen := map[int]map[int]bool{}
	for level := 0; level < 4; level++ {
		msgs := make([]domain.Message, 32)
		for i := range msgs {
			msgs[i] = domain.Message{Body: []byte("x"), Priority: p(level)}
		}
		res, err := e.svc.Produce(ctx, "prio", msgs)
		require.NoError(t, err)
		seen[level] = map[int]bool{}
		for _, r := range res {
			require.Equal(t, level, *r.QueueID%4, "priority %d went to queue %d", level, *r.QueueID)
			seen[level][*r.QueueID] = true
		}
	}
	for level, qs := range seen {
		require.Len(t, qs, 2, "level %d uses both of its queues", level)
	}
}

// A deduplication id already stored answers the first send's result and stores nothing;
// bad ids are refused.
func TestDeduplicationIDsInOneNode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{Linger: 5 * time.Millisecond}, nil)
	ctx := context.Background()
	first, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: []byte("a"), DeduplicationID: "id-1"}})
	require.NoError(t, err)
	again, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: []byte("b"), DeduplicationID: "id-1"}, {Body: []byte("c"), DeduplicationID: "id-2"}})
	require.NoError(t, err)
	require.True(t, again[0].Duplicate)
	require.Equal(t, first[0].MessageID, again[0].MessageID)
	require.Equal(t, *first[0].Offset, *again[0].Offset)
	require.False(t, again[1].Duplicate)
	require.EqualValues(t, 2, e.totalStored(t))
	for _, id := range []string{"has space", string(make([]byte, 129))} {
		_, err := e.svc.Produce(ctx, "normal", []domain.Message{{Body: []byte("x"), DeduplicationID: id}})
		require.Equal(t, httpapi.CodeBadRequest, httpapi.AnswerOf(err).Code)
	}
	_, err = e.svc.Produce(ctx, "normal", []domain.Message{{Body: []byte("x"), DeduplicationID: "d"}, {Body: []byte("y"), DeduplicationID: "d"}})
	require.Equal(t, httpapi.CodeBadRequest, httpapi.AnswerOf(err).Code)
	require.EqualValues(t, 2, e.totalStored(t))
}
