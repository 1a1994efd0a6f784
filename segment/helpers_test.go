package segment

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// baseTime is a fixed store time so test data is reproducible.
var baseTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// words feeds makeBody with text that compresses like real JSON payloads.
var words = strings.Fields(`order user item price currency status created updated
	shipped pending paid refund sku warehouse region eu-west us-east quantity
	discount coupon customer address city country postcode email phone true false null`)

// makeBody returns a JSON-like body of about size bytes.
func makeBody(rng *rand.Rand, size int) []byte {
	var sb strings.Builder
	sb.Grow(size + 64)
	sb.WriteByte('{')
	for sb.Len() < size {
		fmt.Fprintf(&sb, `"%s":"%s-%d",`, words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(1_000_000))
	}
	sb.WriteByte('}')
	return []byte(sb.String()[:size])
}

// makeRecord returns a realistic record with a bodySize-byte body.
func makeRecord(rng *rand.Rand, i int, bodySize int) Record {
	store := baseTime.Add(time.Duration(i) * time.Millisecond)
	r := Record{
		MessageID: fmt.Sprintf("7F0000010001%020X", rng.Uint64()),
		Tag:       "TagA",
		Keys:      []string{fmt.Sprintf("order-%d", rng.IntN(1_000_000))},
		Properties: map[string]string{
			"TRACE_ON":  "true",
			"region":    "eu-west-1",
			"UNIQ_KEY":  fmt.Sprintf("%016x", rng.Uint64()),
			"retry":     "0",
			"x-user-id": fmt.Sprintf("u%d", rng.IntN(10000)),
		},
		BornTime:  store.Add(-3 * time.Millisecond),
		StoreTime: store,
		Flags:     uint32(i % 4),
		Body:      makeBody(rng, bodySize),
	}
	if i%3 == 0 {
		r.MessageGroup = fmt.Sprintf("group-%d", i%7)
	}
	if i%5 == 0 {
		r.DeliveryTime = store.Add(10 * time.Second)
	}
	return r
}

// makeChunks returns queues chunks of perQueue records each.
func makeChunks(seed uint64, queues, perQueue, bodySize int) []ChunkInput {
	rng := rand.New(rand.NewPCG(seed, 1))
	chunks := make([]ChunkInput, queues)
	for q := range chunks {
		recs := make([]Record, perQueue)
		for i := range recs {
			recs[i] = makeRecord(rng, q*perQueue+i, bodySize)
		}
		chunks[q] = ChunkInput{Topic: "orders", QueueID: int32(q), Records: recs}
	}
	return chunks
}

// normalize returns r as DecodeChunk returns it (see the package doc).
func normalize(r Record) Record {
	out := r
	out.BornTime = normalizeTime(r.BornTime)
	out.StoreTime = normalizeTime(r.StoreTime)
	out.DeliveryTime = normalizeTime(r.DeliveryTime)
	if len(r.Keys) == 0 {
		out.Keys = nil
	}
	if len(r.Properties) == 0 {
		out.Properties = nil
	}
	if len(r.Body) == 0 {
		out.Body = nil
	}
	return out
}

func normalizeTime(t time.Time) time.Time {
	if ms, ok := timeToMilli(t); ok {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

func normalizeAll(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i := range recs {
		out[i] = normalize(recs[i])
	}
	return out
}

// buildChunk frames raw as a chunk with a valid checksum, with the given
// header count and raw length, so tests can feed hostile contents past the
// checksum.
func buildChunk(raw []byte, count, rawLen uint32) []byte {
	payload := zstdEncoder.EncodeAll(raw, nil)
	return frameChunk(payload, count, rawLen)
}

// frameChunk wraps payload in a chunk header with a valid checksum.
func frameChunk(payload []byte, count, rawLen uint32) []byte {
	b := make([]byte, ChunkHeaderSize, ChunkHeaderSize+len(payload))
	copy(b, chunkMagic)
	b[4] = ChunkVersion
	b[5] = codecZstd
	binary.LittleEndian.PutUint32(b[8:], count)
	binary.LittleEndian.PutUint32(b[12:], rawLen)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(payload)))
	b = append(b, payload...)
	fixChunkCRC(b)
	return b
}

// fixChunkCRC rewrites the checksum of chunk b (len(b) >= ChunkHeaderSize).
func fixChunkCRC(b []byte) {
	crc := crc32.Update(crc32.Checksum(b[0:20], castagnoli), castagnoli, b[ChunkHeaderSize:])
	binary.LittleEndian.PutUint32(b[20:24], crc)
}

// trailerFor returns a valid trailer for footer.
func trailerFor(footer []byte) []byte {
	return appendTrailer(nil, footer)
}

// decodeObject reads an object the way a reader would: footer, then every
// chunk. It returns the records of all chunks in order.
func decodeObject(object []byte) ([]ChunkInfo, [][]Record, error) {
	infos, err := DecodeFooter(object)
	if err != nil {
		return nil, nil, err
	}
	all := make([][]Record, len(infos))
	for i, in := range infos {
		if in.Offset+in.Length > int64(len(object)) {
			return nil, nil, fmt.Errorf("chunk %d out of range", i)
		}
		recs, err := DecodeChunk(object[in.Offset : in.Offset+in.Length])
		if err != nil {
			return nil, nil, err
		}
		if len(recs) != in.Count {
			return nil, nil, fmt.Errorf("chunk %d: %d records, footer says %d", i, len(recs), in.Count)
		}
		all[i] = recs
	}
	return infos, all, nil
}

// readFooterRanged reads the footer with two "ranged GETs" on object.
func readFooterRanged(t *testing.T, object []byte) []ChunkInfo {
	t.Helper()
	trailer := object[len(object)-TrailerSize:]
	n, err := FooterLength(trailer)
	require.NoError(t, err)
	tail := object[len(object)-TrailerSize-int(n):]
	infos, err := DecodeFooterBytes(tail[:n], tail[n:])
	require.NoError(t, err)
	return infos
}
