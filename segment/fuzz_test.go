package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fuzzSeedChunks returns varied valid inputs to seed the fuzzers.
func fuzzSeedChunks() [][]ChunkInput {
	return [][]ChunkInput{
		{{Topic: "t", Records: []Record{{}}}},
		makeChunks(5, 3, 4, 40),
		{{Topic: "主题", QueueID: -7, LiteTopic: "l", Records: []Record{{
			MessageID:    "id",
			Tag:          "tag",
			Keys:         []string{"k1", ""},
			Properties:   map[string]string{"a": "1", "b": ""},
			MessageGroup: "g",
			LiteTopic:    "l",
			BornTime:     time.UnixMilli(-5),
			StoreTime:    time.UnixMilli(0),
			DeliveryTime: time.UnixMilli(1 << 50),
			Flags:        1 << 31,
			Body:         []byte{0, 1, 2},
		}}}},
	}
}

// checkDecodeError fails unless err is a decoding error of this package.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("decode error does not wrap ErrCorrupt or ErrUnsupportedVersion: %v", err)
	}
}

// checkChunk decodes b and, if it is a valid chunk, checks that its
// records re-encode to exactly the same record block and round-trip
// through EncodeChunk.
func checkChunk(t *testing.T, b []byte) {
	recs, err := DecodeChunk(b)
	if err != nil {
		checkDecodeError(t, err)
		return
	}
	raw, h, err := decompressChunk(b, false)
	require.NoError(t, err)
	require.Len(t, recs, int(h.count))
	require.Equal(t, raw, rawRecords(recs...), "the record block is canonical")

	chunk, info, err := EncodeChunk(ChunkInput{Topic: "t", Records: recs})
	require.NoError(t, err)
	require.Equal(t, len(recs), info.Count)
	require.Equal(t, int64(len(raw)), info.RawBytes)
	again, err := DecodeChunk(chunk)
	require.NoError(t, err)
	require.Equal(t, recs, again)
}

func FuzzDecodeChunk(f *testing.F) {
	for _, chunks := range fuzzSeedChunks() {
		for _, c := range chunks {
			chunk, _, err := EncodeChunk(c)
			require.NoError(f, err)
			f.Add(chunk)
		}
	}
	// A stored chunk (codec none), as incompressible bodies are written.
	recs := fuzzSeedChunks()[1][0].Records
	stored := frameChunk(rawRecords(recs...), uint32(len(recs)), uint32(len(rawRecords(recs...))))
	stored[5] = codecNone
	fixChunkCRC(stored)
	f.Add(stored)
	f.Add([]byte{})
	f.Add([]byte(chunkMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkChunk(t, b)
		// Random bytes almost never carry a valid checksum. Decode again
		// with the payload length and checksum fixed up, so the fuzzer
		// reaches the decompressor and the record parser.
		if len(b) >= ChunkHeaderSize {
			fixed := slices.Clone(b)
			binary.LittleEndian.PutUint32(fixed[16:20], uint32(len(fixed)-ChunkHeaderSize))
			fixChunkCRC(fixed)
			checkChunk(t, fixed)
		}
	})
}

// FuzzDecodeRecords fuzzes the record block parser directly: it is
// unreachable from FuzzDecodeChunk except through valid zstd frames.
func FuzzDecodeRecords(f *testing.F) {
	for _, chunks := range fuzzSeedChunks() {
		for _, c := range chunks {
			f.Add(rawRecords(c.Records...), uint32(len(c.Records)))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, count uint32) {
		recs, err := decodeRecords(raw, int(count))
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		require.Len(t, recs, int(count))
		require.Equal(t, raw, rawRecords(recs...), "the record block is canonical")
		// The framed chunk decodes to the same records.
		got, err := DecodeChunk(buildChunk(raw, count, uint32(len(raw))))
		require.NoError(t, err)
		require.Equal(t, recs, got)
	})
}

// checkFooter decodes footer with trailer and, if valid, checks that the
// entries re-encode to exactly the same footer.
func checkFooter(t *testing.T, footer, trailer []byte) []ChunkInfo {
	infos, err := DecodeFooterBytes(footer, trailer)
	if err != nil {
		checkDecodeError(t, err)
		return nil
	}
	require.Equal(t, footer, appendFooter(nil, infos), "the footer is canonical")
	return infos
}

func FuzzDecodeFooter(f *testing.F) {
	for _, chunks := range fuzzSeedChunks() {
		object, _, err := Encode(chunks)
		require.NoError(f, err)
		f.Add(object)
		n, err := FooterLength(object[len(object)-TrailerSize:])
		require.NoError(f, err)
		f.Add(object[len(object)-TrailerSize-int(n) : len(object)-TrailerSize]) // footer alone
	}
	f.Add([]byte{})
	f.Add([]byte(objectMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		// b as a whole object.
		infos, err := DecodeFooter(b)
		if err != nil {
			checkDecodeError(t, err)
		} else {
			trailer := b[len(b)-TrailerSize:]
			n, err := FooterLength(trailer)
			require.NoError(t, err)
			footer := b[len(b)-TrailerSize-int(n) : len(b)-TrailerSize]
			require.Equal(t, infos, checkFooter(t, footer, trailer))
			last := infos[len(infos)-1]
			require.Equal(t, int64(len(b))-TrailerSize-n, last.Offset+last.Length)
		}

		// b as the trailer of an object and the footer before it, read
		// with two ranged GETs.
		if len(b) >= TrailerSize {
			trailer := b[len(b)-TrailerSize:]
			if n, err := FooterLength(trailer); err == nil && n <= int64(len(b)-TrailerSize) {
				checkFooter(t, b[len(b)-TrailerSize-int(n):len(b)-TrailerSize], trailer)
			} else if err != nil {
				checkDecodeError(t, err)
			}
		}

		// b as a footer body with a valid trailer, so the fuzzer reaches
		// the entry parser past the checksum.
		checkFooter(t, b, trailerFor(b))
	})
}

// TestFuzzSeedsDecode checks that the fuzz seeds are valid encodings, so the
// fuzzers start from inputs that reach deep into the decoders.
func TestFuzzSeedsDecode(t *testing.T) {
	for _, chunks := range fuzzSeedChunks() {
		object, _, err := Encode(chunks)
		require.NoError(t, err)
		_, all, err := decodeObject(object)
		require.NoError(t, err)
		for i := range chunks {
			require.Equal(t, normalizeAll(chunks[i].Records), all[i])
		}
		require.True(t, bytes.HasSuffix(object[:len(object)-1], []byte(objectMagic)))
	}
}
