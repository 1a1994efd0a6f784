package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floemq/floe/client"
)

// fakeBroker is an in-memory stand-in for a Floe server, enough for the benchmarks: topics,
// produce, groups, receive, ack and /metrics. Each produce request counts as one flush with
// one PUT and one Postgres transaction; each receive and ack call as one transaction
// labelled with its operation.
type fakeBroker struct {
	// Settings, fixed before the server starts.
	//
	// sendDelay, if set, says how long to hold produce request number n (from 0).
	sendDelay func(n int) time.Duration
	// onSend, if set, is called with the number of each produce request before it is
	// answered (tests advance a simulated clock there).
	onSend func(n int)
	// receiveDelay holds every receive call that long, to make consumers slow.
	receiveDelay time.Duration
	// failSend, if set, says whether to fail produce request number n with 503.
	failSend func(n int) bool
	// noMetrics makes /metrics answer 404.
	noMetrics bool
	// unlabelledTx leaves the operation label off the transaction counter.
	unlabelledTx bool
	// lose, if set, says whether stored message number n (from 0) is acknowledged to its
	// producer but never delivered.
	lose func(n int) bool
	// duplicateEvery, if positive, makes every receive call number k*duplicateEvery
	// deliver its first message twice.
	duplicateEvery int
	// ackDelay holds every ack call that long.
	ackDelay time.Duration

	mux           *http.ServeMux
	mu            sync.Mutex
	topics        map[string]client.Topic
	groups        map[string]client.GroupSpec
	subscriptions map[string]string // group/topic → filter
	resets        int
	sendRequests  int
	stored        int
	log           [][]byte       // bodies stored, lost ones as nil
	cursors       map[string]int // group → index in log of its next message
	receiveCalls  int
	receivesAt    map[string]int // node URL → receive calls it answered
	sendsAt       map[string]int // node URL → produce calls it answered
	puts          float64
	putBytes      float64
	txCommit      float64
	txReceive     float64
	txAck         float64
	// acksInFlight counts ack calls being answered; maxAcksInFlight is its highest, and
	// receivesDuringAck counts receive calls that arrived while one was.
	acksInFlight, maxAcksInFlight, receivesDuringAck int
	flushes                                          float64
	acked                                            int
	getRanges                                        float64
	bodySizes                                        map[int]int
}

// start serves the broker until the test ends and returns a client for it.
func (f *fakeBroker) start(t testing.TB) *client.Client {
	t.Helper()
	f.topics = map[string]client.Topic{}
	f.groups = map[string]client.GroupSpec{}
	f.subscriptions = map[string]string{}
	f.bodySizes = map[int]int{}
	f.cursors = map[string]int{}
	f.receivesAt = map[string]int{}
	f.sendsAt = map[string]int{}
	f.mux = http.NewServeMux()
	mux := f.mux
	mux.HandleFunc("GET /v1/topics/{topic}", f.getTopic)
	mux.HandleFunc("POST /v1/topics", f.createTopic)
	mux.HandleFunc("POST /v1/topics/{topic}/messages", f.send)
	mux.HandleFunc("POST /v1/groups", f.createGroup)
	mux.HandleFunc("PUT /v1/groups/{group}/subscriptions/{topic}", f.subscribe)
	mux.HandleFunc("POST /v1/groups/{group}/topics/{topic}/reset", f.reset)
	mux.HandleFunc("POST /v1/groups/{group}/topics/{topic}/receive", f.receive)
	mux.HandleFunc("POST /v1/groups/{group}/topics/{topic}/ack", f.ack)
	mux.HandleFunc("GET /metrics", f.metrics)
	return f.serveNode(t)
}

// serveNode serves the broker on one more address, as another node of the same cluster
// would, until the test ends; start must have been called.
func (f *fakeBroker) serveNode(t testing.TB) *client.Client {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/receive"):
			f.receivesAt[srv.URL]++
		case strings.HasSuffix(r.URL.Path, "/messages"):
			f.sendsAt[srv.URL]++
		}
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (f *fakeBroker) getTopic(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	topic, ok := f.topics[r.PathValue("topic")]
	if !ok {
		writeError(w, 404, "TOPIC_NOT_FOUND", "no such topic")
		return
	}
	writeJSON(w, 200, topic)
}

func (f *fakeBroker) createTopic(w http.ResponseWriter, r *http.Request) {
	var spec client.TopicSpec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	topic := client.Topic{Name: spec.Name, Type: spec.Type, Queues: spec.Queues, RetentionHours: 72}
	f.topics[spec.Name] = topic
	writeJSON(w, 201, topic)
}

func (f *fakeBroker) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Messages []client.Message `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	f.mu.Lock()
	n := f.sendRequests
	f.sendRequests++
	f.mu.Unlock()
	if f.sendDelay != nil {
		time.Sleep(f.sendDelay(n))
	}
	if f.onSend != nil {
		f.onSend(n)
	}
	if f.failSend != nil && f.failSend(n) {
		writeError(w, 503, "STORAGE_UNAVAILABLE", "bucket unreachable")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.topics[r.PathValue("topic")]; !ok {
		writeError(w, 404, "TOPIC_NOT_FOUND", "no such topic")
		return
	}
	results := make([]client.SendResult, len(in.Messages))
	for i, m := range in.Messages {
		results[i] = client.SendResult{MessageID: fmt.Sprintf("m%d", f.stored), Offset: int64(f.stored)}
		if f.lose != nil && f.lose(f.stored) {
			f.log = append(f.log, nil)
		} else {
			f.log = append(f.log, m.Body)
		}
		f.stored++
		f.putBytes += float64(len(m.Body))
		f.bodySizes[len(m.Body)]++
	}
	f.puts++
	f.flushes++
	f.txCommit++
	writeJSON(w, 200, map[string]any{"messages": results})
}

func (f *fakeBroker) createGroup(w http.ResponseWriter, r *http.Request) {
	var spec client.GroupSpec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[spec.Name] = spec
	writeJSON(w, 201, client.Group{Name: spec.Name, DeliveryOrder: spec.DeliveryOrder})
}

func (f *fakeBroker) subscribe(w http.ResponseWriter, r *http.Request) {
	var spec client.SubscriptionSpec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscriptions[r.PathValue("group")+"/"+r.PathValue("topic")] = spec.Filter
	// A new subscription starts at the end of the topic.
	if _, ok := f.cursors[r.PathValue("group")]; !ok {
		f.cursors[r.PathValue("group")] = len(f.log)
	}
	w.WriteHeader(204)
}

func (f *fakeBroker) reset(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	// The benchmarks reset to about now: past everything stored.
	f.cursors[r.PathValue("group")] = len(f.log)
	w.WriteHeader(204)
}

func (f *fakeBroker) receive(w http.ResponseWriter, r *http.Request) {
	var req client.ReceiveRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	group := r.PathValue("group")
	f.mu.Lock()
	f.txReceive++
	f.getRanges++
	f.receiveCalls++
	call := f.receiveCalls
	if f.acksInFlight > 0 {
		f.receivesDuringAck++
	}
	f.mu.Unlock()
	time.Sleep(f.receiveDelay)
	deadline := time.Now().Add(time.Duration(req.WaitSeconds) * time.Second)
	for {
		msgs := []client.ReceivedMessage{}
		f.mu.Lock()
		for len(msgs) < req.MaxMessages && f.cursors[group] < len(f.log) {
			i := f.cursors[group]
			f.cursors[group]++
			if f.log[i] == nil {
				continue // lost
			}
			msgs = append(msgs, client.ReceivedMessage{
				MessageView:     client.MessageView{MessageID: fmt.Sprintf("m%d", i), Topic: r.PathValue("topic"), Body: f.log[i]},
				DeliveryAttempt: 1,
				ReceiptHandle:   fmt.Sprintf("h%d", i),
			})
		}
		f.mu.Unlock()
		if len(msgs) > 0 && f.duplicateEvery > 0 && call%f.duplicateEvery == 0 {
			again := msgs[0]
			again.DeliveryAttempt = 2
			again.ReceiptHandle += "-again"
			msgs = append(msgs, again)
		}
		if len(msgs) > 0 || time.Now().After(deadline) || r.Context().Err() != nil {
			writeJSON(w, 200, map[string]any{"messages": msgs})
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (f *fakeBroker) ack(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ReceiptHandles []string `json:"receiptHandles"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "BAD_REQUEST", err.Error())
		return
	}
	f.mu.Lock()
	f.acksInFlight++
	f.maxAcksInFlight = max(f.maxAcksInFlight, f.acksInFlight)
	f.mu.Unlock()
	time.Sleep(f.ackDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acksInFlight--
	f.txAck++
	f.acked += len(in.ReceiptHandles)
	results := make([]client.AckResult, len(in.ReceiptHandles))
	for i, h := range in.ReceiptHandles {
		results[i] = client.AckResult{ReceiptHandle: h, Status: client.AckOK}
	}
	writeJSON(w, 200, map[string]any{"results": results})
}

func (f *fakeBroker) metrics(w http.ResponseWriter, _ *http.Request) {
	if f.noMetrics {
		http.NotFound(w, nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE floe_objstore_requests_total counter\n")
	fmt.Fprintf(w, "floe_objstore_requests_total{operation=\"put\"} %g\n", f.puts)
	fmt.Fprintf(w, "floe_objstore_requests_total{operation=\"get\"} 12345\n")
	fmt.Fprintf(w, "floe_objstore_requests_total{operation=\"get_range\"} %g\n", f.getRanges)
	// Segments half the size of the bodies: a compression ratio of 2.
	fmt.Fprintf(w, "# TYPE floe_ingest_body_bytes_total counter\n")
	fmt.Fprintf(w, "floe_ingest_body_bytes_total %g\n", f.putBytes)
	fmt.Fprintf(w, "# TYPE floe_ingest_segment_bytes histogram\n")
	fmt.Fprintf(w, "floe_ingest_segment_bytes_bucket{le=\"+Inf\"} %g\n", f.puts)
	fmt.Fprintf(w, "floe_ingest_segment_bytes_sum %g\n", f.putBytes/2)
	fmt.Fprintf(w, "floe_ingest_segment_bytes_count %g\n", f.puts)
	fmt.Fprintf(w, "# TYPE floe_objstore_bytes_total counter\n")
	fmt.Fprintf(w, "floe_objstore_bytes_total{operation=\"put\"} %g\n", f.putBytes)
	fmt.Fprintf(w, "floe_objstore_bytes_total{operation=\"get\"} 0\n")
	fmt.Fprintf(w, "floe_objstore_bytes_total{operation=\"get_range\"} %g\n", f.getRanges*4096)
	// Every receive misses the chunk cache once and hits it once.
	fmt.Fprintf(w, "# TYPE floe_reader_cache_hits_total counter\n")
	fmt.Fprintf(w, "floe_reader_cache_hits_total %g\n", f.getRanges)
	fmt.Fprintf(w, "# TYPE floe_reader_cache_misses_total counter\n")
	fmt.Fprintf(w, "floe_reader_cache_misses_total %g\n", f.getRanges)
	fmt.Fprintf(w, "# TYPE floe_metadata_transactions_total counter\n")
	if f.unlabelledTx {
		fmt.Fprintf(w, "floe_metadata_transactions_total %g\n", f.txCommit+f.txReceive+f.txAck)
	} else {
		fmt.Fprintf(w, "floe_metadata_transactions_total{operation=\"commit\"} %g\n", f.txCommit)
		fmt.Fprintf(w, "floe_metadata_transactions_total{operation=\"receive\"} %g\n", f.txReceive)
		fmt.Fprintf(w, "floe_metadata_transactions_total{operation=\"ack\"} %g\n", f.txAck)
	}
	fmt.Fprintf(w, "# TYPE floe_ingest_flushes_total counter\n")
	fmt.Fprintf(w, "floe_ingest_flushes_total{reason=\"linger\"} %g\n", f.flushes)
	// A real node counts its receive looks by outcome; the fake's every receive is one look.
	fmt.Fprintf(w, "# TYPE floe_reader_receive_attempts_total counter\n")
	for _, o := range []string{"messages", "empty", "contended", "failed"} {
		v := 0.0
		if o == "messages" {
			v = f.txReceive
		}
		fmt.Fprintf(w, "floe_reader_receive_attempts_total{outcome=%q} %g\n", o, v)
	}
	// A real node serves its process's CPU time; the fake counts a millisecond a request.
	fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\n")
	fmt.Fprintf(w, "process_cpu_seconds_total %g\n", (f.puts+f.txReceive+f.txAck)/1000)
}
