package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	flushes        *prometheus.CounterVec
	flushFailures  *prometheus.CounterVec
	flushBytes     prometheus.Histogram
	flushMessages  prometheus.Histogram
	messages       prometheus.Counter
	bodyBytes      prometheus.Counter
	produceSeconds prometheus.Histogram
	uploadSeconds  prometheus.Histogram
	rejected       *prometheus.CounterVec
	buffered       prometheus.Gauge
	recalls        *prometheus.CounterVec
	dedup          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_ingest_flushes_total",
			Help: "Batches flushed, by why the flush happened (size, linger, shutdown).",
		}, []string{"reason"}),
		flushFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_ingest_flush_failures_total",
			Help: "Flushes that failed, by stage (encode, upload, commit); their producers got errors.",
		}, []string{"stage"}),
		flushBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "floe_ingest_segment_bytes",
			Help:    "Size of each segment object written.",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 10),
		}),
		flushMessages: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "floe_ingest_flush_messages",
			Help:    "Messages in each flush.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_ingest_messages_total",
			Help: "Messages acknowledged to producers.",
		}),
		bodyBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_ingest_body_bytes_total",
			Help: "Message body bytes acknowledged to producers.",
		}),
		produceSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "floe_ingest_produce_duration_seconds",
			Help:    "Time from a send request's arrival to its acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.005, 1.5, 20),
		}),
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "floe_ingest_upload_duration_seconds",
			Help:    "Time to encode a flush's segment and PUT it, retries included (the bucket's own PUT histogram also counts the compactor's large objects).",
			Buckets: prometheus.ExponentialBuckets(0.005, 1.5, 20),
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_ingest_rejected_requests_total",
			Help: "Send requests rejected, by error code.",
		}, []string{"code"}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floe_ingest_buffered_bytes",
			Help: "Message bytes held by this node: batching, uploading or committing.",
		}),
		recalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_ingest_recalls_total",
			Help: "Recalls of delayed messages, by outcome (recalled, already, too_late, invalid, not_found).",
		}, []string{"outcome"}),
		dedup: newDedupMetric(),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.flushes, m.flushFailures, m.flushBytes, m.flushMessages, m.messages, m.recalls,
			m.bodyBytes, m.produceSeconds, m.uploadSeconds, m.rejected, m.buffered, m.dedup} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
