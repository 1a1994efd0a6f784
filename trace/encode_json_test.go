package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// randomEvents makes events with every field set or empty at random, strings that need
// escaping, and floats across encoding/json's formatting cases.
func randomEvents(r *rand.Rand, n int) []Event {
	strs := []string{"", "t", "orders", "%DLQ%g", "a<b>&c", "quote\"back\\slash", "tab\tnl\n", "é ü 中", "\u2028\u2029", "bad\xffutf8", "\x00\x1f"}
	floats := []float64{0, 1, -1, 0.5, 12.345678, 1e-7, 1e-6, 9.99e-7, 1e20, 1e21, 1.5e300, -2e-9, 123456789.125, math.SmallestNonzeroFloat64}
	times := []time.Time{time.Unix(0, 0).UTC(), time.Date(2026, 11, 25, 3, 4, 5, 123456789, time.UTC), time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600+1800)), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var evs []Event
	for i := 0; i < n; i++ {
		e := Event{MessageID: fmt.Sprintf("id-%d-%s", i, pick(strs)), Topic: pick(strs), Type: pick(strs), Time: times[r.IntN(len(times))],
			Node: pick(strs), Object: pick(strs), Transaction: pick(strs), Group: pick(strs), Consumer: pick(strs),
			LatencyMs: floats[r.IntN(len(floats))], Attempt: r.IntN(3) - 1}
		if r.IntN(2) == 0 {
			q := r.IntN(100) - 10
			e.QueueID = &q
		}
		if r.IntN(2) == 0 {
			o := r.Int64() - math.MaxInt64/2
			e.Offset = &o
		}
		if r.IntN(2) == 0 {
			d := times[r.IntN(len(times))]
			e.DeliveryTime = &d
		}
		evs = append(evs, e)
		// Runs of events that share their common part, as one call records them.
		for r.IntN(3) == 0 {
			c := e
			c.MessageID = fmt.Sprintf("id-%d-run-%d", i, len(evs))
			evs = append(evs, c)
		}
	}
	return evs
}

func TestEncodeWritesWhatEncodingJSONWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		evs := randomEvents(r, 1+r.IntN(40))
		b := groupEvents(evs)
		got, err := appendBody(nil, &b)
		require.NoError(t, err)
		want, err := json.Marshal(b)
		require.NoError(t, err)
		if !bytes.Equal(want, got) {
			t.Fatalf("round %d: appendBody wrote\n%s\nencoding/json writes\n%s", round, got, want)
		}
		decoded, err := Decode(got)
		require.NoError(t, err)
		require.Len(t, decoded, len(evs))
	}
	for _, b := range []body{{}, {Groups: []group{}}, {Groups: []group{{}}}, {Groups: []group{{Items: []item{}}}}} {
		got, err := appendBody(nil, &b)
		require.NoError(t, err)
		want, err := json.Marshal(b)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
	_, err := appendBody(nil, &body{Groups: []group{{Common: Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}})
	require.Error(t, err, "a year encoding/json refuses is refused")
}

func BenchmarkEncode(b *testing.B) {
	now := time.Now().UTC()
	evs := make([]Event, 4096)
	for i := range evs {
		q, o := i%8, int64(i)
		evs[i] = Event{MessageID: fmt.Sprintf("0A1B2C3D4E5F60718293A4B5C6D7E8F9%06d", i), Topic: "bench", Type: Delivered, Time: now,
			Node: "node-1", QueueID: &q, Offset: &o, Group: "floe-bench", Consumer: "10.0.0.1:1234", Attempt: 1}
	}
	b.ReportAllocs()
	for b.Loop() {
		Encode(evs)
	}
}
