package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucketLayoutIsContiguousAndPrecise(t *testing.T) {
	t.Parallel()
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		require.Equal(t, prevHi+1, lo, "bucket %d starts where %d ended", i, i-1)
		require.LessOrEqual(t, lo, hi)
		require.Equal(t, i, bucketIndex(lo), "lower bound of bucket %d", i)
		require.Equal(t, i, bucketIndex(hi), "upper bound of bucket %d", i)
		if i >= subBucketCount {
			width := float64(hi - lo + 1)
			require.LessOrEqual(t, width/float64(lo), 1.0/subBucketCount, "bucket %d is too wide", i)
		}
		prevHi = hi
	}
	require.Equal(t, int64(math.MaxInt64), prevHi, "the buckets cover every int64")
	require.Equal(t, 0, bucketIndex(-5), "negative values count as zero")
}

func TestBucketIndexHoldsRandomValues(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := rng.Int64N(math.MaxInt64) >> rng.IntN(63) // all magnitudes
		lo, hi := bucketBounds(bucketIndex(v))
		require.True(t, lo <= v && v <= hi, "value %d outside its bucket [%d, %d]", v, lo, hi)
	}
}

// exactQuantile is the reference for Histogram.Quantile: the value of rank ceil(q*n).
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestQuantileAccuracy(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	distributions := map[string]func() time.Duration{
		// Log-uniform from 1 µs to 10 s: every magnitude equally represented.
		"log-uniform": func() time.Duration {
			return time.Duration(math.Exp(rng.Float64()*math.Log(1e7)) * float64(time.Microsecond))
		},
		// Exponential around 5 ms: a typical latency shape with a long tail.
		"exponential": func() time.Duration {
			return time.Duration(rng.ExpFloat64() * float64(5*time.Millisecond))
		},
		// Bimodal: fast answers and a slow mode at 100 times the latency.
		"bimodal": func() time.Duration {
			if rng.IntN(100) < 3 {
				return time.Duration(200+rng.IntN(50)) * time.Millisecond
			}
			return time.Duration(2000+rng.IntN(500)) * time.Microsecond
		},
	}
	for name, next := range distributions {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			values := make([]time.Duration, 200_000)
			for i := range values {
				values[i] = next()
				h.Record(values[i])
			}
			slices.Sort(values)
			require.Equal(t, uint64(len(values)), h.Count())
			require.Equal(t, values[0], h.Min())
			require.Equal(t, values[len(values)-1], h.Max())
			for _, q := range []float64{0.0001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999} {
				want := exactQuantile(values, q)
				got := h.Quantile(q)
				require.InEpsilon(t, float64(want), float64(got), 0.01, "q=%v want %s got %s", q, want, got)
			}
			require.Equal(t, h.Max(), h.Quantile(1))
		})
	}
}

func TestQuantileSmallValuesAreExact(t *testing.T) {
	t.Parallel()
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	require.Equal(t, time.Duration(50), h.Quantile(0.5))
	require.Equal(t, time.Duration(90), h.Quantile(0.9))
	require.Equal(t, time.Duration(99), h.Quantile(0.99))
	require.Equal(t, time.Duration(100), h.Quantile(0.999))
	require.Equal(t, time.Duration(1), h.Quantile(0))
	require.Equal(t, Percentiles{P50: 50, P90: 90, P99: 99, P999: 100, Max: 100}, h.Percentiles())
}

func TestQuantileEdgeCases(t *testing.T) {
	t.Parallel()
	var empty Histogram
	require.Equal(t, time.Duration(0), empty.Quantile(0.5))
	require.Equal(t, Percentiles{}, empty.Percentiles())

	var one Histogram
	one.Record(1234567 * time.Nanosecond)
	p := one.Percentiles()
	require.Equal(t, Percentiles{P50: 1234567, P90: 1234567, P99: 1234567, P999: 1234567, Max: 1234567}, p,
		"a single value is reported exactly: the bucket midpoint is clamped to min and max")

	var neg Histogram
	neg.Record(-time.Second)
	require.Equal(t, time.Duration(0), neg.Max())
	require.Equal(t, uint64(1), neg.Count())
}

func TestMergeEqualsRecordingEverythingInOne(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var all Histogram
	parts := make([]Histogram, 4)
	for range 50_000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all.Record(d)
		parts[rng.IntN(len(parts))].Record(d)
	}
	var merged Histogram
	merged.Merge(&Histogram{}) // merging an empty histogram changes nothing
	for i := range parts {
		merged.Merge(&parts[i])
	}
	require.Equal(t, all.Count(), merged.Count())
	require.Equal(t, all.Min(), merged.Min())
	require.Equal(t, all.Max(), merged.Max())
	require.Equal(t, all.counts, merged.counts)
	require.Equal(t, all.Percentiles(), merged.Percentiles())

	merged.Reset()
	require.Equal(t, uint64(0), merged.Count())
	require.Equal(t, time.Duration(0), merged.Quantile(0.99))
}

func TestRecorderLosesNothingUnderConcurrentDrains(t *testing.T) {
	t.Parallel()
	var r recorder
	const writers, perWriter = 8, 20_000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				r.record(time.Duration(w*perWriter+i) * time.Microsecond)
			}
		})
	}
	var total Histogram
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for draining := true; draining; {
		select {
		case <-done:
			draining = false
		default:
		}
		var interval Histogram
		r.drainInto(&interval)
		total.Merge(&interval)
	}
	var last Histogram
	r.drainInto(&last)
	total.Merge(&last)
	require.Equal(t, uint64(writers*perWriter), total.Count())
	require.InEpsilon(t, float64(time.Duration(writers*perWriter-1)*time.Microsecond), float64(total.Max()), 0.01)
	require.InEpsilon(t, float64(writers*perWriter/2)*float64(time.Microsecond), float64(total.Quantile(0.5)), 0.01)

	var empty Histogram
	r.drainInto(&empty)
	require.Equal(t, uint64(0), empty.Count(), "a drain takes the counts away")
}
