package ingest

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testRecallSigner(t testing.TB) *RecallSigner {
	s, err := NewRecallSigner([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return s
}

func TestRecallHandleRoundTrip(t *testing.T) {
	s := testRecallSigner(t)
	h := RecallHandle{QueueRef: 42, QueueID: 3, ObjectKey: "segments/2026/01/02/15/node-abc-00000007.seg", Record: 17,
		DeliveryTime: time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC), MessageID: "0A1B2C3D00000001"}
	handle := s.Encode("reminders", h)
	got, err := s.Decode("reminders", handle)
	require.NoError(t, err)
	require.Equal(t, h, got)

	// Bound to its topic and its key.
	_, err = s.Decode("other", handle)
	require.ErrorIs(t, err, ErrInvalidRecallHandle)
	other, err := NewRecallSigner([]byte("another key of sixteen bytes or more"))
	require.NoError(t, err)
	_, err = other.Decode("reminders", handle)
	require.ErrorIs(t, err, ErrInvalidRecallHandle)

	// Any altered byte breaks it.
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	require.NoError(t, err)
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		_, err := s.Decode("reminders", base64.RawURLEncoding.EncodeToString(b))
		require.ErrorIs(t, err, ErrInvalidRecallHandle, "byte %d altered", i)
	}
	for _, bad := range []string{"", "!!!", "AQ", handle[:len(handle)-2], handle + "AA"} {
		_, err := s.Decode("reminders", bad)
		require.ErrorIs(t, err, ErrInvalidRecallHandle, "%q", bad)
	}
}

// FuzzDecodeRecallHandle feeds untrusted bytes to the decoder: it must answer an error or
// a handle that encodes back to the same string, and never panic.
func FuzzDecodeRecallHandle(f *testing.F) {
	s := testRecallSigner(f)
	f.Add(s.Encode("t", RecallHandle{QueueRef: 1, ObjectKey: "k", Record: 0, DeliveryTime: time.Unix(1, 0), MessageID: "m"}))
	f.Add(s.Encode("t", RecallHandle{QueueRef: 1 << 40, QueueID: 7, ObjectKey: "segments/x.seg", Record: 1 << 20,
		DeliveryTime: time.Unix(0, -5), MessageID: ""}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, handle string) {
		h, err := s.Decode("t", handle)
		if err != nil {
			return
		}
		require.Equal(t, handle, s.Encode("t", h))
	})
}
