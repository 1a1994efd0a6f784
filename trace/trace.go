// Package trace records the path of messages — produced, stored, delivered, acked, nacked,
// dead-lettered — as messages of the system topic %TRACE%, the way RocketMQ keeps message
// traces: one trace message holds the events of one call and is keyed by the message ids it
// covers, so the bloom-filtered key lookup finds a message's events without a Postgres row
// per message.
package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/domain"
)

// Topic is the system topic that holds traces.
const Topic = "%TRACE%"

// Event types.
const (
	Produced     = "PRODUCED"
	Stored       = "STORED"
	Scheduled    = "SCHEDULED"
	HalfStored   = "HALF_STORED"
	Delivered    = "DELIVERED"
	Acked        = "ACKED"
	Nacked       = "NACKED"
	DeadLettered = "DEAD_LETTERED"
	Recalled     = "RECALLED"
	// Redriven: a dead letter moved back to a topic by a redrive task.
	Redriven = "REDRIVEN"
)

// Event is one step of a message's path.
type Event struct {
	MessageID    string     `json:"messageId"`
	Topic        string     `json:"topic"`
	Type         string     `json:"type"`
	Time         time.Time  `json:"time"`
	Node         string     `json:"node,omitempty"`
	QueueID      *int       `json:"queueId,omitempty"`
	Offset       *int64     `json:"offset,omitempty"`
	Object       string     `json:"object,omitempty"`
	LatencyMs    float64    `json:"latencyMs,omitempty"`
	DeliveryTime *time.Time `json:"deliveryTime,omitempty"`
	Transaction  string     `json:"transactionId,omitempty"`
	Group        string     `json:"group,omitempty"`
	Consumer     string     `json:"consumer,omitempty"`
	Attempt      int        `json:"attempt,omitempty"`
}

// Sink stores trace messages (the ingest path, into Topic).
type Sink func(ctx context.Context, msgs []domain.Message) error

// Limits of one trace message.
const (
	maxKeysPerMessage = 1024
	flushEvery        = time.Second
	queueLen          = 64
)

// Recorder buffers events and writes them to the sink about once a second. Recording
// never blocks the path it traces: when the buffer is full, events are dropped and counted.
type Recorder struct {
	node    string
	sink    Sink
	logger  *slog.Logger
	ch      chan []Event
	done    chan struct{}
	once    sync.Once
	dropped prometheus.Counter
	written prometheus.Counter
}

// NewRecorder returns a recorder for a node.
func NewRecorder(node string, sink Sink, logger *slog.Logger, reg prometheus.Registerer) (*Recorder, error) {
	r := &Recorder{
		node: node, sink: sink, logger: logger, ch: make(chan []Event, queueLen), done: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_trace_events_dropped_total", Help: "Trace events dropped because the trace buffer was full or the write failed.",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floe_trace_events_written_total", Help: "Trace events stored in the trace topic.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.dropped, r.written} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering trace metrics: %w", err)
			}
		}
	}
	go r.loop()
	return r, nil
}

// Record queues events for writing; it never blocks. A nil recorder records nothing.
func (r *Recorder) Record(events []Event) {
	if r == nil || len(events) == 0 {
		return
	}
	for i := range events {
		if events[i].Node == "" {
			events[i].Node = r.node
		}
	}
	select {
	case r.ch <- events:
	default:
		r.dropped.Add(float64(len(events)))
	}
}

// Close writes what is buffered and stops.
func (r *Recorder) Close() {
	if r == nil {
		return
	}
	r.once.Do(func() { close(r.ch) })
	<-r.done
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var buf []Event
	for {
		select {
		case evs, ok := <-r.ch:
			if !ok {
				r.flush(buf)
				return
			}
			buf = append(buf, evs...)
			if len(buf) >= 4*maxKeysPerMessage {
				r.flush(buf)
				buf = clear0(buf)
			}
		case <-t.C:
			r.flush(buf)
			buf = clear0(buf)
		}
	}
}

// clear0 empties a flushed buffer for reuse (flush keeps no reference to it), dropping
// the strings its events held.
func clear0(buf []Event) []Event {
	clear(buf)
	return buf[:0]
}

func (r *Recorder) flush(evs []Event) {
	if len(evs) == 0 {
		return
	}
	msgs := Encode(evs)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.sink(ctx, msgs); err != nil {
		r.dropped.Add(float64(len(evs)))
		r.logger.Warn("trace events not stored", "events", len(evs), "err", err)
		return
	}
	r.written.Add(float64(len(evs)))
}

// A trace message's body groups events that share everything but the message: one group
// per call, each message a short item. That keeps traces to tens of bytes per event.
type body struct {
	Groups []group `json:"g"`
}

type group struct {
	Common Event  `json:"c"`
	Items  []item `json:"m"`
}

type item struct {
	ID           string     `json:"i"`
	QueueID      *int       `json:"q,omitempty"`
	Offset       *int64     `json:"o,omitempty"`
	Attempt      int        `json:"a,omitempty"`
	DeliveryTime *time.Time `json:"d,omitempty"`
}

// common is an event without its per-message fields.
func common(e Event) Event {
	e.MessageID, e.QueueID, e.Offset, e.Attempt, e.DeliveryTime = "", nil, nil, 0, nil
	return e
}

func sameCommon(a, b Event) bool {
	return a.Topic == b.Topic && a.Type == b.Type && a.Time.Equal(b.Time) && a.Node == b.Node && a.Object == b.Object &&
		a.LatencyMs == b.LatencyMs && a.Transaction == b.Transaction && a.Group == b.Group && a.Consumer == b.Consumer
}

// Encode packs events into trace messages, each keyed by the message ids it covers.
func Encode(evs []Event) []domain.Message {
	var out []domain.Message
	for len(evs) > 0 {
		keys := make(map[string]bool, min(len(evs), maxKeysPerMessage))
		n := 0
		for n < len(evs) && (keys[evs[n].MessageID] || len(keys) < maxKeysPerMessage) {
			keys[evs[n].MessageID] = true
			n++
		}
		b := groupEvents(evs[:n])
		raw, err := appendBody(make([]byte, 0, 64*n+256), &b)
		if err == nil { // it fails only for a time outside years 0-9999, which no clock here makes
			ks := make([]string, 0, len(keys))
			for k := range keys {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			out = append(out, domain.Message{Body: raw, Keys: ks})
		}
		evs = evs[n:]
	}
	return out
}

// groupEvents makes the body of one trace message: runs of events that share their common
// part become one group.
func groupEvents(evs []Event) body {
	var b body
	for _, e := range evs {
		if len(b.Groups) == 0 || !sameCommon(b.Groups[len(b.Groups)-1].Common, e) {
			b.Groups = append(b.Groups, group{Common: common(e)})
		}
		g := &b.Groups[len(b.Groups)-1]
		g.Items = append(g.Items, item{ID: e.MessageID, QueueID: e.QueueID, Offset: e.Offset, Attempt: e.Attempt, DeliveryTime: e.DeliveryTime})
	}
	return b
}

// Decode reads the events of a trace message.
func Decode(raw []byte) ([]Event, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decoding trace message: %w", err)
	}
	var out []Event
	for _, g := range b.Groups {
		for _, it := range g.Items {
			e := g.Common
			e.MessageID, e.QueueID, e.Offset, e.Attempt, e.DeliveryTime = it.ID, it.QueueID, it.Offset, it.Attempt, it.DeliveryTime
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("decoding trace message: no events")
	}
	return out, nil
}
