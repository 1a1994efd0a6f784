package objstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/objstore"
	"github.com/floemq/floe/objstore/objstoretest"
)

func TestMetricsAcceptance(t *testing.T) {
	f, _ := newFolder(t)
	objstoretest.AcceptanceTest(t, objstore.WithMetrics(f, prometheus.NewRegistry()))
}

func TestMetricsCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, _ := newFolder(t)
	b := objstore.WithMetrics(f, reg)
	ctx := t.Context()

	require.NoError(t, b.Put(ctx, "a", []byte("12345")))
	require.NoError(t, b.Put(ctx, "b", []byte("123")))
	got, err := b.Get(ctx, "a")
	require.NoError(t, err)
	require.Len(t, got, 5)
	_, err = b.Get(ctx, "missing")
	require.True(t, objstore.IsNotFound(err))
	_, err = b.GetRange(ctx, "a", 1, 2)
	require.NoError(t, err)
	_, err = b.GetRange(ctx, "a", 4, 2) // out of range
	require.Error(t, err)
	require.Error(t, b.Put(ctx, "../bad", []byte("xx")))
	require.NoError(t, b.Delete(ctx, "b"))
	require.NoError(t, b.List(ctx, "", func(objstore.ObjectInfo) error { return nil }))
	require.NoError(t, b.Check(ctx))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, b.Check(cancelled))

	requests := gather(t, reg, "floe_objstore_requests_total")
	require.Len(t, requests, 18, "every operation/result series exists from the start")
	for series, want := range map[string]float64{
		"put/ok": 2, "put/error": 1, "put/not_found": 0,
		"get/ok": 1, "get/not_found": 1, "get/error": 0,
		"get_range/ok": 1, "get_range/error": 1,
		"delete/ok": 1, "list/ok": 1,
		"check/ok": 1, "check/error": 1,
	} {
		require.Equal(t, want, requests[series], series)
	}

	require.Equal(t, map[string]float64{"put": 8, "get": 5, "get_range": 2},
		gather(t, reg, "floe_objstore_bytes_total"))

	// One latency observation per call.
	require.Equal(t, map[string]float64{"put": 3, "get": 2, "get_range": 2, "delete": 1, "list": 1, "check": 2},
		gather(t, reg, "floe_objstore_request_duration_seconds"))
}

func TestMetricsSameRegistryTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, _ := newFolder(t)
	b1 := objstore.WithMetrics(f, reg)
	b2 := objstore.WithMetrics(f, reg) // must not panic
	require.NoError(t, b1.Put(t.Context(), "a", []byte("1")))
	require.NoError(t, b2.Put(t.Context(), "b", []byte("1")))
	require.Equal(t, 2.0, gather(t, reg, "floe_objstore_requests_total")["put/ok"])

	// A nil registry means unregistered metrics.
	require.NoError(t, objstore.WithMetrics(f, nil).Put(t.Context(), "c", nil))
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, _ := newFolder(t)
	objstore.WithMetrics(f, reg)
	families, err := reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

// gather returns the series of the named counter or histogram family on reg,
// keyed by their label values joined with "/" (in label name order). For a
// counter the value is the count, for a histogram the number of observations.
func gather(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	series := map[string]float64{}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			var values []string
			for _, l := range m.GetLabel() {
				values = append(values, l.GetValue())
			}
			key := strings.Join(values, "/")
			if h := m.GetHistogram(); h != nil {
				series[key] = float64(h.GetSampleCount())
			} else {
				series[key] = m.GetCounter().GetValue()
			}
		}
	}
	return series
}
