package presence

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/metadata"
)

func TestInFlightEstimate(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := NewTable()
	tb.now = func() time.Time { return now }
	id := HTTPClient("10.0.0.1", "app/1", "", TypeConsumer)
	tb.Delivered("g", "orders", id, 5, 30*time.Second)
	now = now.Add(10 * time.Second)
	tb.Delivered("g", "orders", id, 3, 60*time.Second)
	tb.Settled("g", "orders", id, 2, 1)
	c := tb.Snapshot(time.Hour)[0].Clients[0]
	require.Equal(t, int64(8), c.Delivered)
	require.Equal(t, int64(5), c.InFlight)

	// The first delivery's invisible time runs out: its two unsettled messages are due
	// again, no longer in flight.
	now = now.Add(25 * time.Second)
	c = tb.Snapshot(time.Hour)[0].Clients[0]
	require.Equal(t, int64(3), c.InFlight)
	require.Equal(t, "10.0.0.1", c.Address)
	require.Regexp(t, `^10\.0\.0\.1/[0-9a-f]+$`, c.ClientID)

	// Idle clients are forgotten.
	now = now.Add(2 * time.Hour)
	require.Empty(t, tb.Snapshot(time.Hour))
}

func TestTableBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := NewTable()
	tb.now = func() time.Time { now = now.Add(time.Millisecond); return now }
	for i := range MaxClientsPerName + 1 {
		tb.Delivered("g", "t", HTTPClient("h", "", fmt.Sprint(i), TypeConsumer), 1, time.Minute)
	}
	cs := tb.Snapshot(time.Hour)[0].Clients
	require.Len(t, cs, MaxClientsPerName)
	for _, c := range cs {
		require.NotEqual(t, "0", c.ClientID, "the client seen least recently makes room")
	}
}

func TestMergeSumsAcrossNodes(t *testing.T) {
	tb1, tb2 := NewTable(), NewTable()
	id := HTTPClient("h", "ua", "w1", TypeConsumer)
	tb1.Delivered("g", "a", id, 4, time.Minute)
	tb2.Delivered("g", "b", id, 2, time.Minute)
	tb2.Settled("g", "b", id, 2, 0)
	var rows []metadata.ClientsRow
	for i, tb := range []*Table{tb1, tb2} {
		b, err := json.Marshal(tb.Snapshot(time.Hour)[0].Clients)
		require.NoError(t, err)
		rows = append(rows, metadata.ClientsRow{Node: fmt.Sprint("n", i), Kind: metadata.ClientsOfGroup, Name: "g", Clients: b})
	}
	cs, err := Merge(rows)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, []string{"n0", "n1"}, cs[0].Nodes)
	require.ElementsMatch(t, []string{"a", "b"}, cs[0].Topics)
	require.Equal(t, int64(6), cs[0].Delivered)
	require.Equal(t, int64(2), cs[0].Acked)
	require.Equal(t, int64(4), cs[0].InFlight)
}
