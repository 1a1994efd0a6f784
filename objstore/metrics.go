package objstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operation label values used by WithMetrics.
const (
	opPut      = "put"
	opGet      = "get"
	opGetRange = "get_range"
	opDelete   = "delete"
	opList     = "list"
	opCheck    = "check"
)

// Result label values used by WithMetrics.
const (
	resultOK       = "ok"
	resultNotFound = "not_found"
	resultError    = "error"
)

// WithMetrics returns a Bucket that records Prometheus metrics for every call
// to b and registers them on reg (nil means do not register):
//
//   - floe_objstore_requests_total{operation,result}: calls, where operation
//     is put, get, get_range, delete, list or check and result is ok,
//     not_found or error;
//   - floe_objstore_bytes_total{operation}: bytes stored by successful puts
//     and bytes returned by successful get and get_range calls;
//   - floe_objstore_request_duration_seconds{operation}: call latency (for
//     list this includes the time spent in the callback).
//
// Calling WithMetrics more than once with the same registry is allowed: the
// wrappers then share the metrics registered by the first call.
func WithMetrics(b Bucket, reg prometheus.Registerer) Bucket {
	m := &metricsBucket{
		b: b,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_objstore_requests_total",
			Help: "Object store requests by operation and result (ok, not_found, error).",
		}, []string{"operation", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_objstore_bytes_total",
			Help: "Bytes written by put and read by get and get_range.",
		}, []string{"operation"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floe_objstore_request_duration_seconds",
			Help:    "Object store request latency by operation.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.bytes = register(reg, m.bytes)
		m.duration = register(reg, m.duration)
	}
	// Create every series up front so dashboards see zeros, not gaps.
	for _, op := range []string{opPut, opGet, opGetRange, opDelete, opList, opCheck} {
		for _, result := range []string{resultOK, resultNotFound, resultError} {
			m.requests.WithLabelValues(op, result)
		}
		m.duration.WithLabelValues(op)
	}
	for _, op := range []string{opPut, opGet, opGetRange} {
		m.bytes.WithLabelValues(op)
	}
	return m
}

// register registers c on reg and returns it, or returns the equal collector
// that is already registered there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err) // same as promauto: a conflicting registration is a programming error
}

// metricsBucket implements WithMetrics.
type metricsBucket struct {
	b        Bucket
	requests *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// observe records one call of operation op that started at start.
func (m *metricsBucket) observe(op string, start time.Time, err error) {
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	result := resultOK
	switch {
	case IsNotFound(err):
		result = resultNotFound
	case err != nil:
		result = resultError
	}
	m.requests.WithLabelValues(op, result).Inc()
}

func (m *metricsBucket) Put(ctx context.Context, key string, data []byte) error {
	start := time.Now()
	err := m.b.Put(ctx, key, data)
	m.observe(opPut, start, err)
	if err == nil {
		m.bytes.WithLabelValues(opPut).Add(float64(len(data)))
	}
	return err
}

func (m *metricsBucket) Get(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	data, err := m.b.Get(ctx, key)
	m.observe(opGet, start, err)
	m.bytes.WithLabelValues(opGet).Add(float64(len(data)))
	return data, err
}

func (m *metricsBucket) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	start := time.Now()
	data, err := m.b.GetRange(ctx, key, offset, length)
	m.observe(opGetRange, start, err)
	m.bytes.WithLabelValues(opGetRange).Add(float64(len(data)))
	return data, err
}

func (m *metricsBucket) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := m.b.Delete(ctx, key)
	m.observe(opDelete, start, err)
	return err
}

func (m *metricsBucket) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	start := time.Now()
	err := m.b.List(ctx, prefix, fn)
	m.observe(opList, start, err)
	return err
}

func (m *metricsBucket) Check(ctx context.Context) error {
	start := time.Now()
	err := m.b.Check(ctx)
	m.observe(opCheck, start, err)
	return err
}
