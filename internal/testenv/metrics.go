package testenv

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// MetricSum gathers g and returns the sum of the values of the series of the metric name
// (counters, gauges, untyped) whose first label values are labels: all its series when
// labels is empty. A metric g does not gather fails the test: a renamed metric must not
// read as zero. For one collector at hand, prometheus/testutil.ToFloat64 reads it.
func MetricSum(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	v, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		found = true
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) < len(labels) {
				continue
			}
			for i, l := range labels {
				if m.GetLabel()[i].GetValue() != l {
					continue series
				}
			}
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	require.True(t, found, "no metric %s", name)
	return v
}
