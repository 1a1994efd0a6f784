package segment

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// spansOf returns the footer's chunk ranges relative to from, for chunks that end by to.
func spansOf(infos []ChunkInfo, from, to int64) []ChunkSpan {
	var out []ChunkSpan
	for _, ci := range infos {
		if ci.Offset >= from && ci.Offset+ci.Length <= to {
			out = append(out, ChunkSpan{Offset: ci.Offset - from, Length: ci.Length})
		}
	}
	return out
}

func TestSplitChunksFindsTheChunksOfAnyRange(t *testing.T) {
	object, infos, err := Encode(makeChunks(6, 6, 5, 300))
	require.NoError(t, err)
	require.Len(t, infos, 6)

	// The whole object: every chunk, and the footer is not taken for one.
	require.Equal(t, spansOf(infos, 0, int64(len(object))), SplitChunks(object))

	// From the third chunk to the middle of the fifth: the third and the fourth.
	from, to := infos[2].Offset, infos[4].Offset+infos[4].Length/2
	got := SplitChunks(object[from:to])
	require.Equal(t, spansOf(infos, from, to), got)
	require.Len(t, got, 2)

	// Less than a header, or bytes that are no chunk: nothing.
	require.Empty(t, SplitChunks(object[:ChunkHeaderSize-1]))
	require.Empty(t, SplitChunks(object[infos[5].Offset+infos[5].Length:]))
}

func FuzzSplitChunks(f *testing.F) {
	for _, chunks := range fuzzSeedChunks() {
		object, _, err := Encode(chunks)
		require.NoError(f, err)
		f.Add(object)
	}
	f.Add([]byte(chunkMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		next := int64(0)
		for _, s := range SplitChunks(b) {
			// Spans are contiguous from the start, whole, and at least a header long.
			require.Equal(t, next, s.Offset)
			require.GreaterOrEqual(t, s.Length, int64(ChunkHeaderSize))
			require.LessOrEqual(t, s.Offset+s.Length, int64(len(b)))
			next = s.Offset + s.Length
		}
	})
}

// Incompressible bodies are stored (version 2, codec none) and read back; compressible ones
// are still zstd chunks of version 1.
func TestIncompressibleChunksAreStored(t *testing.T) {
	random := makeChunks(7, 1, 64, 1024)
	r := uint64(1)
	for i := range random[0].Records {
		body := make([]byte, 1024)
		for j := range body {
			r = r*6364136223846793005 + 1442695040888963407
			body[j] = byte(r >> 56)
		}
		random[0].Records[i].Body = body
	}
	chunk, info, err := EncodeChunk(random[0])
	require.NoError(t, err)
	require.Equal(t, []byte{ChunkVersion, codecNone}, chunk[4:6])
	require.Equal(t, ChunkHeaderSize+info.RawBytes, info.Length, "stored: header and the record block")
	recs, err := DecodeChunk(chunk)
	require.NoError(t, err)
	require.Len(t, recs, 64)
	for i := range recs {
		require.Equal(t, random[0].Records[i].Body, recs[i].Body)
	}
	require.Equal(t, []ChunkSpan{{Offset: 0, Length: info.Length}}, SplitChunks(chunk))

	compressible := makeChunks(7, 1, 64, 1024)
	chunk, info, err = EncodeChunk(compressible[0])
	require.NoError(t, err)
	require.Equal(t, []byte{1, codecZstd}, chunk[4:6])
	require.Less(t, info.Length, info.RawBytes)

	// A stored chunk whose payload is not its raw length is corrupt.
	bad := frameChunk(rawRecords(recs...)[1:], 64, uint32(info.RawBytes))
	bad[5] = codecNone
	fixChunkCRC(bad)
	_, err = DecodeChunk(bad)
	require.Error(t, err)
	// Version 1 has no stored codec.
	bad[4], bad[5] = 1, codecNone
	fixChunkCRC(bad)
	_, err = DecodeChunk(bad)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
}
