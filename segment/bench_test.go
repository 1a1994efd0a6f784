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

// BenchmarkEncodeIncompressible is BenchmarkEncode with random bodies (compressed, encrypted
// or random payloads, and the benchmarks' bodies), which are stored rather than compressed.
func BenchmarkEncodeIncompressible(b *testing.B) {
	chunks := benchChunks()
	r := uint64(42)
	for i := range chunks {
		for j := range chunks[i].Records {
			body := make([]byte, len(chunks[i].Records[j].Body))
			for k := range body {
				r = r*6364136223846793005 + 1442695040888963407
				body[k] = byte(r >> 56)
			}
			chunks[i].Records[j].Body = body
		}
	}
	b.SetBytes(rawBytes(chunks))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Encode(chunks); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStoredChunk is BenchmarkDecodeChunk for a stored chunk.
func BenchmarkDecodeStoredChunk(b *testing.B) {
	chunks := benchChunks()
	raw := rawRecords(chunks[0].Records...)
	chunk := frameChunk(raw, uint32(len(chunks[0].Records)), uint32(len(raw)))
	chunk[5] = codecNone
	fixChunkCRC(chunk)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChunk(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
