package reader

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReceiptRoundTripAndBinding(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	r := Receipt{DeliveryID: 42, Version: 3, QueueRef: 7, Offset: 123456789, MessageID: "01A20FD6F2352A703011000000000001"}
	h := s.Encode("billing", "orders", r)
	got, err := s.Decode("billing", "orders", h)
	require.NoError(t, err)
	require.Equal(t, r, got)

	_, err = s.Decode("other-group", "orders", h)
	require.ErrorIs(t, err, ErrInvalidReceipt, "a handle must not verify for another group")
	_, err = s.Decode("billing", "payments", h)
	require.ErrorIs(t, err, ErrInvalidReceipt, "a handle must not verify for another topic")

	other, _ := NewSigner([]byte("another-secret-key-000"))
	_, err = other.Decode("billing", "orders", h)
	require.ErrorIs(t, err, ErrInvalidReceipt, "a handle signed with another key must not verify")

	// Altering any character breaks it.
	for i := range h {
		c := byte('A')
		if h[i] == 'A' {
			c = 'B'
		}
		bad := h[:i] + string(c) + h[i+1:]
		_, err := s.Decode("billing", "orders", bad)
		require.Error(t, err, "altered at %d", i)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 600), "!!!!", h + "A"} {
		_, err := s.Decode("billing", "orders", bad)
		require.Error(t, err)
	}
}

func FuzzDecodeReceipt(f *testing.F) {
	s, _ := NewSigner([]byte("0123456789abcdef0123"))
	f.Add(s.Encode("g", "t", Receipt{DeliveryID: 1, Version: 1, QueueRef: 1, Offset: 0}))
	f.Add("")
	f.Add("AQEBAQA")
	f.Fuzz(func(t *testing.T, h string) {
		r, err := s.Decode("g", "t", h)
		if err != nil {
			return
		}
		// Whatever verifies must be what we would have signed.
		require.Equal(t, h, s.Encode("g", "t", r))
	})
}

func BenchmarkReceiptEncodeDecode(b *testing.B) {
	s, err := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	r := Receipt{DeliveryID: 123456789, Version: 2, QueueRef: 42, Offset: 1 << 30, MessageID: "01JDX5Y2Z3ABCDEFGHJKMNPQRS"}
	for b.Loop() {
		h := s.Encode("floe-bench", "bench", r)
		if _, err := s.Decode("floe-bench", "bench", h); err != nil {
			b.Fatal(err)
		}
	}
}
