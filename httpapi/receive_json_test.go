package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The hand-written encoding of a receive answer is byte for byte encoding/json's.
func TestAppendReceiveResponseMatchesEncodingJSON(t *testing.T) {
	born := time.Date(2026, 11, 24, 10, 11, 12, 123456789, time.UTC)
	store := born.Add(time.Millisecond).In(time.FixedZone("X", 3600))
	due := born.Add(time.Second)
	cases := map[string][]ReceivedMessage{
		"nil":   nil,
		"empty": {},
		"plain": {{MessageView: MessageView{MessageID: "01J-abc", Topic: "orders", QueueID: 3, Offset: 1 << 40, Body: []byte("hello"),
			BornTime: born, StoreTime: store}, DeliveryAttempt: 1, ReceiptHandle: "h.abc_DEF-1"}},
		"every field": {{MessageView: MessageView{MessageID: "id<1>&", Topic: "%DLQ%g", QueueID: 0, Offset: 0, Tag: "Tag \"A\"",
			Keys: []string{"k1", "ключ", "a\u2028b", "\x01"}, Properties: map[string]string{"z": "1", "a": "<2>"},
			Body: []byte{0, 1, 2, 250, 255}, MessageGroup: "grp\\1", LiteTopic: "lite/1", BornTime: born, StoreTime: store,
			DeliveryTime: &due}, DeliveryAttempt: 7, ReceiptHandle: "h"}},
		"nil body and zero times": {{MessageView: MessageView{MessageID: "x", Keys: []string{}}}, {MessageView: MessageView{Body: []byte{}, Tag: "\xff"}}},
	}
	for name, msgs := range cases {
		want, err := json.Marshal(ReceiveResponse{Messages: msgs})
		require.NoError(t, err)
		got, err := AppendReceiveResponse(nil, msgs)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), name)
	}
	_, err := AppendReceiveResponse(nil, []ReceivedMessage{{MessageView: MessageView{BornTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}})
	require.Error(t, err, "a year past 9999, as encoding/json")
}

func BenchmarkReceiveResponse(b *testing.B) {
	msgs := make([]ReceivedMessage, 32)
	for i := range msgs {
		msgs[i] = ReceivedMessage{MessageView: MessageView{MessageID: "01JDX5Y2Z3ABCDEFGHJKMNPQRS", Topic: "bench", QueueID: i % 8, Offset: int64(i) << 20,
			Body: make([]byte, 1024), BornTime: time.Now(), StoreTime: time.Now()}, DeliveryAttempt: 1,
			ReceiptHandle: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(ReceiveResponse{Messages: msgs})
		}
	})
	b.Run("append", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = AppendReceiveResponse(buf[:0], msgs)
		}
	})
}
