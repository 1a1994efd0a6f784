package compactor

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const metricsBefore = `# TYPE floe_objstore_requests_total counter
floe_objstore_requests_total{operation="put",result="ok"} 100
floe_objstore_requests_total{operation="put",result="error"} 2
floe_objstore_requests_total{operation="get_range",result="ok"} 50
floe_objstore_requests_total{operation="list",result="ok"} 1
floe_objstore_requests_total{operation="delete",result="ok"} 0
# TYPE floe_ingest_body_bytes_total counter
floe_ingest_body_bytes_total 0
# TYPE floe_ingest_segment_bytes histogram
floe_ingest_segment_bytes_bucket{le="+Inf"} 100
floe_ingest_segment_bytes_sum 0
floe_ingest_segment_bytes_count 100
# TYPE floe_compactor_stored_bytes gauge
floe_compactor_stored_bytes{level="0"} 1073741824
floe_compactor_stored_bytes{level="1"} 1073741824
`

const metricsAfter = `# TYPE floe_objstore_requests_total counter
floe_objstore_requests_total{operation="put",result="ok"} 1100
floe_objstore_requests_total{operation="put",result="error"} 2
floe_objstore_requests_total{operation="get_range",result="ok"} 2050
floe_objstore_requests_total{operation="list",result="ok"} 1
floe_objstore_requests_total{operation="delete",result="ok"} 10
# TYPE floe_ingest_body_bytes_total counter
floe_ingest_body_bytes_total 1073741824
# TYPE floe_ingest_segment_bytes histogram
floe_ingest_segment_bytes_bucket{le="+Inf"} 1100
floe_ingest_segment_bytes_sum 1073741824
floe_ingest_segment_bytes_count 1100
# TYPE floe_compactor_merge_written_bytes_total counter
floe_compactor_merge_written_bytes_total{level="1"} 1073741824
# TYPE floe_compactor_stored_bytes gauge
floe_compactor_stored_bytes{level="0"} 1073741824
floe_compactor_stored_bytes{level="1"} 1073741824
`

func TestEstimateCost(t *testing.T) {
	t0 := time.Now()
	before, err := ParseCostSample(metricsBefore, t0)
	require.NoError(t, err)
	after, err := ParseCostSample(metricsAfter, t0.Add(100*time.Second))
	require.NoError(t, err)
	require.Equal(t, 102.0, before.Puts)
	require.Equal(t, float64(2<<30), after.StoredBytes)

	// Two nodes: counters add, cluster gauges do not.
	both := after.Add(after)
	require.Equal(t, 2*after.Puts, both.Puts)
	require.Equal(t, after.StoredBytes, both.StoredBytes)

	c := EstimateCost(before, after, 72*time.Hour, S3StandardUSEast1)
	require.InDelta(t, 10, c.PutsPerSec, 1e-9)
	require.InDelta(t, 1000, c.PutsPerGiB, 1e-9, "1000 PUTs for the GiB ingested")
	require.InDelta(t, 2000, c.GetsPerGiB, 1e-9)
	require.InDelta(t, 1, c.WriteAmplification, 1e-9)
	// 10 PUT/s for 30 days at $0.005 per 1000; 20 GET/s at $0.0004 per 1000.
	require.InDelta(t, 10*2592000/1000*0.005, c.MonthlyPuts, 1e-6)
	require.InDelta(t, 20*2592000/1000*0.0004, c.MonthlyGets, 1e-6)
	// Steady state: 1 GiB per 100 s kept 72 h.
	require.InDelta(t, 72*36, c.SteadyGB, 1e-9)
	require.InDelta(t, 72*36*0.023, c.MonthlyStorage, 1e-9)
	require.InDelta(t, c.MonthlyStorage+c.MonthlyPuts+c.MonthlyGets+c.MonthlyLists, c.MonthlyTotal, 1e-9)

	var out bytes.Buffer
	require.NoError(t, c.WriteText(&out))
	require.Contains(t, out.String(), "PUT")
	require.Contains(t, out.String(), "total")
}
