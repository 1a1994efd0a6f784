package compactor

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/objstore"
)

type metrics struct {
	runs         *prometheus.CounterVec
	runSeconds   *prometheus.HistogramVec
	merges       *prometheus.CounterVec
	mergeRows    prometheus.Counter
	mergeInput   *prometheus.CounterVec
	mergeWritten *prometheus.CounterVec
	retained     prometheus.Counter
	retainedRows prometheus.Counter
	deleted      *prometheus.CounterVec
	deletedBytes *prometheus.CounterVec
	txPurged     prometheus.Counter
	objRequests  *prometheus.CounterVec
	objBytes     *prometheus.CounterVec
	cachedChunks prometheus.Counter
	cachedBytes  prometheus.Counter

	storedObjects *prometheus.GaugeVec
	storedBytes   *prometheus.GaugeVec
	unrefObjects  prometheus.Gauge
	unrefBytes    prometheus.Gauge
	ingested      prometheus.Gauge
	compacted     prometheus.Gauge
	amplification prometheus.Gauge
	backlogSegs   prometheus.Gauge
	backlogAge    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_runs_total",
			Help: "Compactor job runs, by job (merge, retention, gc) and result (ok, error).",
		}, []string{"job", "result"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floe_compactor_run_duration_seconds",
			Help:    "Time one job run took, by job.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 10),
		}, []string{"job"}),
		merges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_merges_total",
			Help: "Merges, by result: ok (indexed), conflict (the rows changed meanwhile; object dropped), error.",
		}, []string{"result"}),
		mergeRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_merged_rows_total",
			Help: "Index rows replaced by merges.",
		}),
		mergeInput: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_merge_input_bytes_total",
			Help: "Stored bytes of the rows merges rewrote, by the level of their segment.",
		}, []string{"level"}),
		mergeWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_merge_written_bytes_total",
			Help: "Bytes of merged objects indexed, by their level: the bytes compaction rewrote.",
		}, []string{"level"}),
		retained: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_retention_messages_total",
			Help: "Messages removed from queues because they were past retention.",
		}),
		retainedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_retention_rows_total",
			Help: "Index rows removed by retention.",
		}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_deleted_objects_total",
			Help: "Objects deleted, by reason: unreferenced (grace passed), orphan (never indexed), conflict (a merge that lost a race).",
		}, []string{"reason"}),
		deletedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_deleted_bytes_total",
			Help: "Bytes of objects deleted, by reason.",
		}, []string{"reason"}),
		txPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_transactions_purged_total",
			Help: "Finished transactions deleted.",
		}),
		objRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_object_requests_total",
			Help: "Object store requests made by the compactor, by operation (the compactor's share of floe_objstore_requests_total).",
		}, []string{"operation"}),
		objBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_compactor_object_bytes_total",
			Help: "Bytes the compactor wrote (put) and read (get_range).",
		}, []string{"operation"}),
		cachedChunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_cached_chunks_total",
			Help: "Source chunks of merges taken from this process's chunk cache instead of the bucket.",
		}),
		cachedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_compactor_cached_bytes_total",
			Help: "Stored bytes of the source chunks of merges taken from this process's chunk cache instead of the bucket.",
		}),
		storedObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floe_compactor_stored_objects",
			Help: "Segment objects in the bucket, by level (0 = flushes), from the segments table (cluster-wide; orphans excluded).",
		}, []string{"level"}),
		storedBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floe_compactor_stored_bytes",
			Help: "Bytes of segment objects in the bucket, by level, from the segments table (cluster-wide).",
		}, []string{"level"}),
		unrefObjects: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_unreferenced_objects",
			Help: "Segment objects in their grace period before deletion (cluster-wide).",
		}),
		unrefBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_unreferenced_bytes",
			Help: "Bytes of segment objects in their grace period before deletion (cluster-wide).",
		}),
		ingested: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_ingested_bytes",
			Help: "Bytes of flush segments ever written (cluster-wide, accounted about a minute late).",
		}),
		compacted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_compacted_bytes",
			Help: "Bytes of merged objects ever indexed (cluster-wide).",
		}),
		amplification: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_write_amplification",
			Help: "Compaction write amplification: bytes rewritten by merges / bytes ingested (cluster-wide; at most 2 by design).",
		}),
		backlogSegs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_backlog_segments",
			Help: "Flush segments (level 0) still holding rows below the target size, waiting to be merged (cluster-wide).",
		}),
		backlogAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_compactor_backlog_age_seconds",
			Help: "Age of the oldest flush segment still holding rows waiting to be merged, 0 when none (cluster-wide): about the merge age while compaction keeps up, growing when it falls behind.",
		}),
	}
	for _, l := range []string{"0", "1", "2"} {
		m.mergeInput.WithLabelValues(l)
		m.storedObjects.WithLabelValues(l)
		m.storedBytes.WithLabelValues(l)
	}
	for _, l := range []string{"1", "2"} {
		m.mergeWritten.WithLabelValues(l)
	}
	for _, r := range []string{"ok", "conflict", "error"} {
		m.merges.WithLabelValues(r)
	}
	for _, r := range []string{reasonUnreferenced, reasonOrphan, reasonConflict} {
		m.deleted.WithLabelValues(r)
		m.deletedBytes.WithLabelValues(r)
	}
	for _, op := range []string{"put", "get_range", "delete", "list"} {
		m.objRequests.WithLabelValues(op)
	}
	for _, op := range []string{"put", "get_range"} {
		m.objBytes.WithLabelValues(op)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.runs, m.runSeconds, m.merges, m.mergeRows, m.mergeInput, m.mergeWritten,
			m.retained, m.retainedRows, m.deleted, m.deletedBytes, m.txPurged, m.objRequests, m.objBytes, m.cachedChunks, m.cachedBytes,
			m.storedObjects, m.storedBytes, m.unrefObjects, m.unrefBytes, m.ingested, m.compacted, m.amplification,
			m.backlogSegs, m.backlogAge} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering compactor metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Reasons an object is deleted.
const (
	reasonUnreferenced = "unreferenced"
	reasonOrphan       = "orphan"
	reasonConflict     = "conflict"
)

// countingBucket counts the compactor's own requests, so its share of the object store
// bill can be told apart from ingest's and the readers'.
type countingBucket struct {
	objstore.Bucket
	m *metrics
}

func (b countingBucket) Put(ctx context.Context, key string, data []byte) error {
	b.m.objRequests.WithLabelValues("put").Inc()
	err := b.Bucket.Put(ctx, key, data)
	if err == nil {
		b.m.objBytes.WithLabelValues("put").Add(float64(len(data)))
	}
	return err
}

func (b countingBucket) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	b.m.objRequests.WithLabelValues("get_range").Inc()
	data, err := b.Bucket.GetRange(ctx, key, offset, length)
	b.m.objBytes.WithLabelValues("get_range").Add(float64(len(data)))
	return data, err
}

func (b countingBucket) Delete(ctx context.Context, key string) error {
	b.m.objRequests.WithLabelValues("delete").Inc()
	return b.Bucket.Delete(ctx, key)
}

func (b countingBucket) List(ctx context.Context, prefix string, fn func(objstore.ObjectInfo) error) error {
	// One LIST request per page of up to 1000 keys (S3's page size).
	n := 0
	err := b.Bucket.List(ctx, prefix, func(info objstore.ObjectInfo) error {
		if n%1000 == 0 {
			b.m.objRequests.WithLabelValues("list").Inc()
		}
		n++
		return fn(info)
	})
	if n == 0 {
		b.m.objRequests.WithLabelValues("list").Inc()
	}
	return err
}
