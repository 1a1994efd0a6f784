package metadata

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDoneCountCountsMessageBitsOnly: the count of done messages is the number of set
// bits below Count, whatever the padding bits of the last byte hold.
func TestDoneCountCountsMessageBitsOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		count := 1 + r.IntN(300)
		done := NewDoneBitmap(count)
		for i := range done {
			done[i] = byte(r.Uint32()) // padding bits too
		}
		d := &Delivery{Count: count, Done: done}
		want := 0
		for i := range count {
			if d.IsDone(i) {
				want++
			}
		}
		require.Equal(t, want, doneCount(d), "count %d, bitmap %x", count, done)
	}
	full := &Delivery{Count: 12, Done: []byte{0xff, 0xff}}
	require.Equal(t, 12, doneCount(full))
	require.Zero(t, doneCount(&Delivery{Count: 9, Done: NewDoneBitmap(9)}))
}
