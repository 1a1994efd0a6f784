package reader

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMissRangeKeepsToWholeChunks: a miss reads its chunk's neighbours only where they
// can be whole. A chunk of half the read-ahead or more is read alone (the rest of the
// range would be part of the next chunk, which the cache cannot keep), a small object
// whole, and a small chunk of a large object with the read-ahead after it.
func TestMissRangeKeepsToWholeChunks(t *testing.T) {
	const mib = 1 << 20
	c := &ChunkCache{readAhead: 8 * mib, windows: map[string][]*window{}}
	for _, tc := range []struct {
		name                string
		offset, length      int64
		size                int64
		wantStart, wantSize int64
	}{
		{"merged chunk in a large object", 20 * mib, 4*mib + 100_000, 64 * mib, 20 * mib, 4*mib + 100_000},
		{"chunk of exactly half the read-ahead", 0, 4 * mib, 64 * mib, 0, 4 * mib},
		{"small chunk in a large object", 20 * mib, 300_000, 64 * mib, 20 * mib, 8 * mib},
		{"small chunk near the end", 62 * mib, 300_000, 64 * mib, 62 * mib, 2 * mib},
		{"large chunk of a small object", 2 * mib, 5 * mib, 7*mib + 50_000, 0, 7*mib + 50_000},
		{"flush segment", 500_000, 100_000, 2 * mib, 0, 2 * mib},
		{"unknown object size", 0, 100_000, 0, 0, 100_000},
		{"chunk over the read-ahead", 0, 9 * mib, 64 * mib, 0, 9 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := c.planLocked(chunkRef{key: tc.name, offset: tc.offset, length: tc.length}, tc.size)
			require.Equal(t, tc.wantStart, w.start)
			require.Equal(t, tc.wantSize, w.end-w.start)
			c.endWindowLocked(w)
		})
	}
}
