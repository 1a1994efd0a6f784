package trace

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncodeDecodeRoundTripAndKeys(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var evs []Event
	for i := 0; i < 3000; i++ {
		q, o := i%4, int64(i)
		evs = append(evs, Event{MessageID: fmt.Sprintf("id-%04d", i), Topic: "t", Type: Stored, Time: now, Node: "n", QueueID: &q, Offset: &o, Object: "seg/1"})
	}
	evs = append(evs, Event{MessageID: "id-0001", Topic: "t", Type: Acked, Time: now.Add(time.Second), Group: "g"})
	msgs := Encode(evs)
	require.Len(t, msgs, 3, "at most 1024 message ids per trace message")
	var got []Event
	for _, m := range msgs {
		require.LessOrEqual(t, len(m.Keys), 1024)
		dec, err := Decode(m.Body)
		require.NoError(t, err)
		for _, e := range dec {
			require.Contains(t, m.Keys, e.MessageID, "every event's message is a key of its trace message")
		}
		got = append(got, dec...)
	}
	require.Len(t, got, len(evs))
	for i := range evs {
		require.Equal(t, evs[i].MessageID, got[i].MessageID)
		require.Equal(t, evs[i].Type, got[i].Type)
		require.True(t, evs[i].Time.Equal(got[i].Time))
		require.Equal(t, evs[i].QueueID, got[i].QueueID)
		require.Equal(t, evs[i].Offset, got[i].Offset)
		require.Equal(t, evs[i].Group, got[i].Group)
	}
	// Compact: well under 100 bytes an event.
	total := 0
	for _, m := range msgs {
		total += len(m.Body)
	}
	require.Less(t, total/len(evs), 100)

	_, err := Decode([]byte("{"))
	require.Error(t, err)
	_, err = Decode([]byte(`{"g":[]}`))
	require.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	for _, m := range Encode([]Event{{MessageID: "a", Topic: "t", Type: Acked, Time: time.Unix(1, 0)}}) {
		f.Add(m.Body)
	}
	f.Add([]byte(`{"g":[{"c":{},"m":[{"i":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := Decode(b)
		if err == nil && len(evs) == 0 {
			t.Fatal("no error and no events")
		}
	})
}
