package segment

import (
	"testing"

	"github.com/klauspost/compress/zstd"
)

// benchChunks is the ingest-flush shape: 8 queues × 1000 × 1 KiB messages.
func benchChunks() []ChunkInput {
	return makeChunks(42, 8, 1000, 1024)
}

// rawBytes returns the total record block size of chunks.
func rawBytes(chunks []ChunkInput) int64 {
	var n int64
	for i := range chunks {
		size, err := chunkRawSize(&chunks[i])
		if err != nil {
			panic(err)
		}
		n += int64(size)
	}
	return n
}

func BenchmarkEncode(b *testing.B) {
	chunks := benchChunks()
	raw := rawBytes(chunks)
	b.SetBytes(raw)
	b.ReportAllocs()
	var objectSize int
	for b.Loop() {
		object, _, err := Encode(chunks)
		if err != nil {
			b.Fatal(err)
		}
		objectSize = len(object)
	}
	b.ReportMetric(float64(raw)/float64(objectSize), "ratio")
}

// BenchmarkEncodeParallel runs one Encode per core, as concurrent flushes
// of different partitions would.
func BenchmarkEncodeParallel(b *testing.B) {
	chunks := benchChunks()
	b.SetBytes(rawBytes(chunks))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := Encode(chunks); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkDecodeChunk(b *testing.B) {
	chunks := benchChunks()
	chunk, info, err := EncodeChunk(chunks[0])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.RawBytes)
	b.ReportAllocs()
	for b.Loop() {
		recs, err := DecodeChunk(chunk)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != info.Count {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkDecodeFooter(b *testing.B) {
	object, _, err := Encode(makeChunks(1, 256, 1, 16))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFooter(object); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZstdLevel compresses the record block of one benchmark chunk at
// each candidate level (go test -run=^$ -bench=ZstdLevel ./segment/). The
// numbers and the choice are in the comment on zstdLevel.
func BenchmarkZstdLevel(b *testing.B) {
	chunks := benchChunks()
	var enc chunkEncoder
	raw := make([]byte, 0, 2<<20)
	for i := range chunks[0].Records {
		raw, enc.keys = appendRecord(raw, &chunks[0].Records[i], enc.keys)
	}
	levels := []struct {
		name  string
		level zstd.EncoderLevel
	}{
		{"fastest", zstd.SpeedFastest},
		{"default", zstd.SpeedDefault},
		{"better", zstd.SpeedBetterCompression},
	}
	for _, l := range levels {
		b.Run(l.name, func(b *testing.B) {
			z := newZstdEncoder(l.level)
			dst := make([]byte, 0, zstdBound(len(raw)))
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				dst = z.EncodeAll(raw, dst[:0])
			}
			b.ReportMetric(float64(len(raw))/float64(len(dst)), "ratio")
			out, err := zstdDecoder.DecodeAll(dst, make([]byte, 0, len(raw)))
			if err != nil || len(out) != len(raw) {
				b.Fatal("round trip failed", err)
			}
		})
	}
}
