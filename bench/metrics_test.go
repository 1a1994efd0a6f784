package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sampleMetrics = `# HELP floe_objstore_requests_total Requests to the object store.
# TYPE floe_objstore_requests_total counter
floe_objstore_requests_total{bucket="b1",operation="put"} 10
floe_objstore_requests_total{bucket="b2",operation="PUT"} 5
floe_objstore_requests_total{bucket="b1",operation="get"} 1000
# HELP floe_objstore_bytes_total Bytes moved to and from the object store.
# TYPE floe_objstore_bytes_total counter
floe_objstore_bytes_total{operation="put"} 1.5e+07
floe_objstore_bytes_total{operation="get"} 9
# TYPE floe_metadata_transactions_total counter
floe_metadata_transactions_total{operation="commit"} 40
floe_metadata_transactions_total{operation="receive"} 7
# TYPE floe_ingest_flushes_total untyped
floe_ingest_flushes_total{reason="size"} 3
floe_ingest_flushes_total{reason="linger"} 4
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE floe_ingest_flush_seconds histogram
floe_ingest_flush_seconds_bucket{le="+Inf"} 7
floe_ingest_flush_seconds_sum 0.7
floe_ingest_flush_seconds_count 7
`

func TestParseCounters(t *testing.T) {
	t.Parallel()
	values, err := parseCounters(sampleMetrics, allBenchCounters)
	require.NoError(t, err)
	require.Equal(t, counterValues{
		`floe_objstore_requests_total{operation="put"}`:         15, // both buckets, case of the value ignored
		`floe_objstore_bytes_total{operation="put"}`:            1.5e7,
		`floe_metadata_transactions_total`:                      47, // summed over every label
		`floe_ingest_flushes_total`:                             7,  // untyped is read too
		`floe_metadata_transactions_total{operation="receive"}`: 7,
		// operation="ack" has no series: absent, not zero.
	}, values)

	gauge, err := parseCounters(sampleMetrics, []counter{{Name: "go_goroutines"}, {Name: "floe_ingest_flush_seconds"}})
	require.NoError(t, err)
	require.Equal(t, counterValues{"go_goroutines": 12, "floe_ingest_flush_seconds": 0.7}, gauge, "a histogram is read as its sum")

	_, err = parseCounters("this is { not metrics\n", produceCounters)
	require.Error(t, err)
}

func TestCounterString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "floe_ingest_flushes_total", metricFlushes.String())
	require.Equal(t, `x_total{a="1",b="2"}`, counter{Name: "x_total", Labels: map[string]string{"b": "2", "a": "1"}}.String())
}

func TestDeltas(t *testing.T) {
	t.Parallel()
	at := time.Unix(1000, 0)
	before := scrape{at: at, values: counterValues{
		metricPuts.String(): 10, metricPgTx.String(): 100, metricFlushes.String(): 5,
	}}
	after := scrape{at: at.Add(10 * time.Second), values: counterValues{
		metricPuts.String(): 30, metricPgTx.String(): 150, metricFlushes.String(): 5, metricPutBytes.String(): 7,
	}}
	d := deltas(before, after, produceCounters)
	require.Equal(t, 10*time.Second, d.elapsed)
	require.Equal(t, counterValues{
		metricPuts.String(): 20, metricPgTx.String(): 50, metricFlushes.String(): 0, metricPutBytes.String(): 0,
	}, d.values)
	require.Equal(t, []string{metricPutBytes.String()}, d.missing, "a counter must be in both readings")
	require.True(t, d.has(metricPuts))
	require.False(t, d.has(metricPutBytes))
	require.Empty(t, d.notes)

	sub := d.subset([]counter{metricPutBytes})
	require.Equal(t, counterValues{metricPutBytes.String(): 0}, sub.values)
	require.Equal(t, []string{metricPutBytes.String()}, sub.missing)

	failed := deltas(scrape{at: at, err: errors.New("connection refused")}, after, produceCounters)
	require.Len(t, failed.missing, 4)
	require.Len(t, failed.notes, 1)
	require.Contains(t, failed.notes[0], "connection refused")
}
