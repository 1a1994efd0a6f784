package metadata_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/metadata"
)

func openStoreWithQuotas(t *testing.T, q metadata.Quotas) (*metadata.Store, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return testenv.Store(t, metadata.Config{Quotas: q}, reg), reg
}

// TestQuotasPerNamespace: each namespace has its own count; a create past the limit is
// refused and stores nothing; creating an existing resource again passes; system topics
// do not count.
func TestQuotasPerNamespace(t *testing.T) {
	t.Parallel()
	s, reg := openStoreWithQuotas(t, metadata.Quotas{Topics: 2, Groups: 1, LiteTopics: 3})
	ctx := context.Background()
	topic := func(name, typ string) error {
		_, _, err := s.TopicCreate(ctx, metadata.Topic{Name: name, Type: typ, Queues: 1, RetentionHours: 1})
		return err
	}
	for _, ns := range []string{"", "acme%", "globex%"} {
		require.NoError(t, topic(ns+"orders", metadata.TopicNormal))
		require.NoError(t, topic(ns+"chats", metadata.TopicLite))
		err := topic(ns+"payments", metadata.TopicNormal)
		require.ErrorIs(t, err, metadata.ErrQuotaExceeded, ns)
		var qe *metadata.QuotaError
		require.ErrorAs(t, err, &qe)
		require.Equal(t, metadata.QuotaTopics, qe.Resource)
		require.Equal(t, 2, qe.Limit)
		_, err = s.TopicGet(ctx, ns+"payments")
		require.ErrorIs(t, err, metadata.ErrNotFound, "nothing stored")
		require.NoError(t, topic(ns+"orders", metadata.TopicNormal), "an existing topic is no new one")

		_, _, err = s.GroupCreate(ctx, metadata.Group{Name: ns + "billing", DeliveryOrder: metadata.OrderConcurrent, MaxDeliveryAttempts: 1, BackoffSeconds: []int{1}})
		require.NoError(t, err)
		_, _, err = s.GroupCreate(ctx, metadata.Group{Name: ns + "audit", DeliveryOrder: metadata.OrderConcurrent, MaxDeliveryAttempts: 1, BackoffSeconds: []int{1}})
		require.ErrorIs(t, err, metadata.ErrQuotaExceeded, ns)

		_, err = s.LiteQueuesEnsure(ctx, ns+"chats", []string{"a", "b"})
		require.NoError(t, err)
		_, err = s.LiteQueuesEnsure(ctx, ns+"chats", []string{"a", "c", "d"})
		require.ErrorIs(t, err, metadata.ErrQuotaExceeded, "two new ones would make four")
		_, err = s.LiteQueueGet(ctx, ns+"chats", "c")
		require.ErrorIs(t, err, metadata.ErrNotFound, "none of the refused batch was created")
		_, err = s.LiteQueuesEnsure(ctx, ns+"chats", []string{"a", "b", "c"})
		require.NoError(t, err, "one new one makes three")
	}
	require.Equal(t, 3.0, testenv.MetricSum(t, reg, "floe_metadata_quota_exceeded_total", "topics"))
	require.Equal(t, 3.0, testenv.MetricSum(t, reg, "floe_metadata_quota_exceeded_total", "groups"))
	require.Equal(t, 3.0, testenv.MetricSum(t, reg, "floe_metadata_quota_exceeded_total", "lite_topics"))
}

// TestQuotaConcurrentCreates: creates racing for the last places cannot pass the limit
// together.
func TestQuotaConcurrentCreates(t *testing.T) {
	t.Parallel()
	s, _ := openStoreWithQuotas(t, metadata.Quotas{Topics: 3})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = s.TopicCreate(ctx, metadata.Topic{Name: fmt.Sprintf("acme%%t%d", i), Type: metadata.TopicNormal, Queues: 1, RetentionHours: 1})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, metadata.ErrQuotaExceeded)
		}
	}
	require.Equal(t, 3, ok)
}
