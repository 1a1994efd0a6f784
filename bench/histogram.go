package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2^subBucketBits nanoseconds
// get a bucket each; above, every power of two is split into subBucketCount equal buckets.
// A bucket's width is at most 1/128 of its lower bound, so any value read back is within
// 0.4% of a recorded one (the midpoint is reported), whatever the magnitude: 1 µs and 10 s
// are equally precise. The layout covers every non-negative int64 in
// (64-subBucketBits)*subBucketCount = 7,296 buckets, 57 KiB of counts.
//
//	value v        bucket
//	0 … 127        v
//	128 … 255      128 + (v - 128)            (width 1)
//	256 … 511      256 + (v>>1 - 128)         (width 2)
//	2^k … 2^(k+1)  (k-6)*128 + (v>>(k-7) - 128) (width 2^(k-7))
const (
	subBucketBits  = 7
	subBucketCount = 1 << subBucketBits
	numBuckets     = (64 - subBucketBits) * subBucketCount
)

// bucketIndex returns the bucket of a value in nanoseconds; negative values count as 0.
func bucketIndex(v int64) int {
	if v < subBucketCount {
		return int(max(v, 0))
	}
	u := uint64(v)
	shift := bits.Len64(u) - subBucketBits - 1
	return (shift+1)*subBucketCount + int(u>>uint(shift)) - subBucketCount
}

// bucketBounds returns the smallest and the largest value of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < subBucketCount {
		return int64(i), int64(i)
	}
	shift := i/subBucketCount - 1
	mantissa := int64(i%subBucketCount + subBucketCount)
	lo = mantissa << uint(shift)
	return lo, lo + (int64(1) << uint(shift)) - 1
}

// Histogram counts durations with about 1% relative precision. The zero value is empty and
// ready to use. It is not safe for concurrent use: give each goroutine its own and Merge
// them when the goroutines are done.
type Histogram struct {
	counts   []uint64 // numBuckets long once anything is recorded
	count    uint64
	min, max time.Duration
}

// Record counts one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.add(bucketIndex(int64(d)), 1)
	if h.count == 1 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
}

// add counts n values in bucket i, without touching min and max.
func (h *Histogram) add(i int, n uint64) {
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	h.counts[i] += n
	h.count += n
}

// Merge adds every value counted by o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	for i, n := range o.counts {
		if n != 0 {
			h.add(i, n)
		}
	}
}

// Reset empties h, keeping its memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.count, h.min, h.max = 0, 0, 0
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 {
	return h.count
}

// Min returns the smallest duration recorded, or zero when h is empty.
func (h *Histogram) Min() time.Duration {
	return h.min
}

// Max returns the largest duration recorded, exactly, or zero when h is empty.
func (h *Histogram) Max() time.Duration {
	return h.max
}

// Quantile returns the duration below or at which a fraction q (0 to 1) of the recorded
// durations fall: the value of rank ceil(q*count), at least rank 1, read as its bucket's
// midpoint and kept within [Min, Max]. It returns zero when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(rank, 1)
	var seen uint64
	for i, n := range h.counts {
		seen += n
		if seen >= rank {
			lo, hi := bucketBounds(i)
			mid := time.Duration(lo + (hi-lo)/2)
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}

// Percentiles returns the usual latency summary of h.
func (h *Histogram) Percentiles() Percentiles {
	return Percentiles{
		P50:  h.Quantile(0.50),
		P90:  h.Quantile(0.90),
		P99:  h.Quantile(0.99),
		P999: h.Quantile(0.999),
		Max:  h.Max(),
	}
}

// Percentiles summarizes a latency distribution.
type Percentiles struct {
	// P50 is the median.
	P50 time.Duration
	// P90 is the 90th percentile.
	P90 time.Duration
	// P99 is the 99th percentile.
	P99 time.Duration
	// P999 is the 99.9th percentile.
	P999 time.Duration
	// Max is the largest value, exact.
	Max time.Duration
}

// recorder is a histogram many goroutines record into while another drains it, without
// locks: each bucket is an atomic counter. It feeds the once-a-second progress lines; the
// results come from the exact per-goroutine Histograms.
type recorder struct {
	counts [numBuckets]atomic.Uint64
}

// record counts one duration.
func (r *recorder) record(d time.Duration) {
	r.counts[bucketIndex(int64(max(d, 0)))].Add(1)
}

// drainInto moves what was recorded since the last drain into h. A value recorded during
// the drain lands in this drain or the next, never in both. The recorder keeps no exact
// extremes, so h's min and max become the bounds of the lowest and highest buckets
// drained: within 1% of the true values.
func (r *recorder) drainInto(h *Histogram) {
	for i := range r.counts {
		n := r.counts[i].Swap(0)
		if n == 0 {
			continue
		}
		lo, hi := bucketBounds(i)
		if h.count == 0 || time.Duration(lo) < h.min {
			h.min = time.Duration(lo)
		}
		h.max = max(h.max, time.Duration(hi))
		h.add(i, n)
	}
}
