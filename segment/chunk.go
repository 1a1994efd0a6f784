package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Encode writes one segment object holding chunks, in the order given, then
// the footer and trailer. It returns the object and, for each chunk, where
// it sits in the object. Every chunk must have a topic and at least one
// record, and its encoded records must not exceed MaxRawChunkSize.
//
// The object's capacity is sized for incompressible data, so encoding never
// reallocates it.
func Encode(chunks []ChunkInput) (object []byte, infos []ChunkInfo, err error) {
	if len(chunks) == 0 {
		return nil, nil, errors.New("segment: encode: no chunks")
	}
	rawSizes := make([]int, len(chunks))
	capacity := int64(TrailerSize) + int64(uvarintSize(uint64(len(chunks))))
	for i := range chunks {
		c := &chunks[i]
		n, err := chunkRawSize(c)
		if err != nil {
			return nil, nil, fmt.Errorf("segment: encode chunk %d (topic %q queue %d): %w", i, c.Topic, c.QueueID, err)
		}
		rawSizes[i] = n
		capacity += int64(ChunkHeaderSize + zstdBound(n))
		capacity += int64(maxFooterEntrySize(c))
	}
	if capacity > math.MaxInt {
		return nil, nil, fmt.Errorf("segment: encode: object of up to %d bytes is too large", capacity)
	}

	w := NewWriter(int(capacity))
	for i := range chunks {
		if _, err := w.append(&chunks[i], rawSizes[i]); err != nil {
			return nil, nil, err
		}
	}
	return w.Finish()
}

// EncodeChunk encodes one chunk on its own, as it would appear inside an
// object. The returned info has Offset 0 and Length len(chunk); a caller
// assembling an object adjusts Offset. It lets the compactor rewrite single
// chunks.
func EncodeChunk(c ChunkInput) ([]byte, ChunkInfo, error) {
	n, err := chunkRawSize(&c)
	if err != nil {
		return nil, ChunkInfo{}, fmt.Errorf("segment: encode chunk (topic %q queue %d): %w", c.Topic, c.QueueID, err)
	}
	var enc chunkEncoder
	dst := make([]byte, 0, ChunkHeaderSize+zstdBound(n))
	chunk, info, err := enc.appendChunk(dst, &c, n)
	if err != nil {
		return nil, ChunkInfo{}, fmt.Errorf("segment: encode chunk (topic %q queue %d): %w", c.Topic, c.QueueID, err)
	}
	return chunk, info, nil
}

// EncodedChunk is one already-encoded chunk for Assemble: its bytes and the
// info EncodeChunk, Encode or DecodeFooter returned for it.
type EncodedChunk struct {
	Bytes []byte
	Info  ChunkInfo
}

// Assemble builds an object from already-encoded chunks, in the order
// given, without recompressing them: the compactor can copy unchanged
// chunks from old objects and add ones rewritten with EncodeChunk. Each
// chunk's framing and checksum are verified and must agree with its Info
// (Length, Count, RawBytes); Info's Offset is ignored. It returns the object
// and the infos with their offsets in it.
func Assemble(chunks []EncodedChunk) (object []byte, infos []ChunkInfo, err error) {
	if len(chunks) == 0 {
		return nil, nil, errors.New("segment: assemble: no chunks")
	}
	capacity := TrailerSize + uvarintSize(uint64(len(chunks)))
	for i := range chunks {
		c := &chunks[i]
		if err := checkEncodedChunk(c); err != nil {
			return nil, nil, fmt.Errorf("segment: assemble chunk %d (topic %q queue %d): %w", i, c.Info.Topic, c.Info.QueueID, err)
		}
		capacity += len(c.Bytes) + stringSize(len(c.Info.Topic)) + stringSize(len(c.Info.LiteTopic)) + 8*binary.MaxVarintLen64
	}
	object = make([]byte, 0, capacity)
	infos = make([]ChunkInfo, len(chunks))
	for i := range chunks {
		infos[i] = chunks[i].Info
		infos[i].Offset = int64(len(object))
		// The footer keeps milliseconds; return what DecodeFooter will.
		infos[i].MinStoreTime = milliToTime(infos[i].MinStoreTime.UnixMilli())
		infos[i].MaxStoreTime = milliToTime(infos[i].MaxStoreTime.UnixMilli())
		object = append(object, chunks[i].Bytes...)
	}
	footerStart := len(object)
	object = appendFooter(object, infos)
	if footerLen := len(object) - footerStart; footerLen > MaxFooterSize {
		return nil, nil, fmt.Errorf("segment: assemble: footer of %d bytes exceeds %d", footerLen, MaxFooterSize)
	}
	object = appendTrailer(object, object[footerStart:])
	return object, infos, nil
}

// checkEncodedChunk verifies that c's bytes are a well-framed chunk that
// its info describes.
func checkEncodedChunk(c *EncodedChunk) error {
	if c.Info.Topic == "" {
		return errors.New("empty topic")
	}
	if int64(len(c.Bytes)) != c.Info.Length {
		return fmt.Errorf("chunk is %d bytes, info says %d", len(c.Bytes), c.Info.Length)
	}
	h, err := parseChunkHeader(c.Bytes)
	if err != nil {
		return err
	}
	if int64(h.count) != int64(c.Info.Count) || int64(h.rawLen) != c.Info.RawBytes {
		return fmt.Errorf("chunk holds %d records in %d bytes, info says %d in %d", h.count, h.rawLen, c.Info.Count, c.Info.RawBytes)
	}
	if c.Info.MinStoreTime.UnixMilli() > c.Info.MaxStoreTime.UnixMilli() {
		return errors.New("min store time after max store time")
	}
	return nil
}

// DecodeChunk decodes one chunk: b must be exactly the chunk's bytes
// (Offset to Offset+Length of its ChunkInfo). It verifies the checksum and
// every length before trusting them. The returned records do not share
// memory with b; their bodies share one freshly allocated buffer.
func DecodeChunk(b []byte) ([]Record, error) {
	recs, err := decodeChunk(b, false)
	if err != nil {
		return nil, fmt.Errorf("segment: decode chunk: %w", err)
	}
	return recs, nil
}

// DecodeOwnedChunk is DecodeChunk for bytes the caller hands over: the bodies of a
// stored (uncompressed) chunk's records point into b rather than into a copy, so b must
// not change afterwards and stays in memory as long as any of the records does. Callers
// holding a private copy of one chunk (a cache, a merge's reads) save a copy of every
// byte they decode.
func DecodeOwnedChunk(b []byte) ([]Record, error) {
	recs, err := decodeChunk(b, true)
	if err != nil {
		return nil, fmt.Errorf("segment: decode chunk: %w", err)
	}
	return recs, nil
}

// chunkHeader is the parsed fixed header of a chunk.
type chunkHeader struct {
	codec      byte
	count      uint32
	rawLen     uint32
	payloadLen uint32
}

// parseChunkHeader checks the framing of chunk b (magic, version, codec,
// reserved bits, exact length, checksum, limits) and returns its header.
func parseChunkHeader(b []byte) (chunkHeader, error) {
	if len(b) < ChunkHeaderSize {
		return chunkHeader{}, corruptf("chunk of %d bytes is shorter than its %d-byte header", len(b), ChunkHeaderSize)
	}
	if string(b[0:4]) != chunkMagic {
		return chunkHeader{}, corruptf("bad chunk magic %q", b[0:4])
	}
	if b[4] < chunkVersionZstd || b[4] > ChunkVersion {
		return chunkHeader{}, fmt.Errorf("%w: chunk version %d", ErrUnsupportedVersion, b[4])
	}
	// Version 1 chunks are zstd; version 2 ones zstd or stored.
	if b[5] != codecZstd && !(b[4] == ChunkVersion && b[5] == codecNone) {
		return chunkHeader{}, fmt.Errorf("%w: chunk codec %d in chunk version %d", ErrUnsupportedVersion, b[5], b[4])
	}
	if b[6] != 0 || b[7] != 0 {
		return chunkHeader{}, corruptf("reserved chunk header bytes are not zero")
	}
	h := chunkHeader{
		codec:      b[5],
		count:      binary.LittleEndian.Uint32(b[8:12]),
		rawLen:     binary.LittleEndian.Uint32(b[12:16]),
		payloadLen: binary.LittleEndian.Uint32(b[16:20]),
	}
	if int64(len(b)) != ChunkHeaderSize+int64(h.payloadLen) {
		return chunkHeader{}, corruptf("chunk is %d bytes, header says %d", len(b), ChunkHeaderSize+int64(h.payloadLen))
	}
	want := binary.LittleEndian.Uint32(b[20:24])
	got := crc32.Update(crc32.Checksum(b[0:20], castagnoli), castagnoli, b[ChunkHeaderSize:])
	if got != want {
		return chunkHeader{}, corruptf("chunk checksum %#08x, header says %#08x", got, want)
	}
	if h.rawLen > MaxRawChunkSize {
		return chunkHeader{}, corruptf("chunk raw length %d exceeds %d", h.rawLen, MaxRawChunkSize)
	}
	if h.count < 1 || h.count > h.rawLen/minRecordSize {
		return chunkHeader{}, corruptf("chunk record count %d invalid for raw length %d", h.count, h.rawLen)
	}
	return h, nil
}

// decodeChunk is DecodeChunk without the outer error context.
func decodeChunk(b []byte, owned bool) ([]Record, error) {
	raw, h, err := decompressChunk(b, owned)
	if err != nil {
		return nil, err
	}
	return decodeRecords(raw, int(h.count))
}

// decompressChunk checks chunk b and returns its record block; if owned, a stored
// chunk's block is b's own bytes, else a copy.
func decompressChunk(b []byte, owned bool) ([]byte, chunkHeader, error) {
	h, err := parseChunkHeader(b)
	if err != nil {
		return nil, chunkHeader{}, err
	}
	payload := b[ChunkHeaderSize:]
	if h.codec == codecNone {
		if len(payload) != int(h.rawLen) {
			return nil, chunkHeader{}, corruptf("stored chunk holds %d bytes, header says %d", len(payload), h.rawLen)
		}
		if owned {
			return payload[:len(payload):len(payload)], h, nil
		}
		// A copy: decoded records never share memory with the chunk's bytes.
		return bytes.Clone(payload), h, nil
	}
	// Check the frame header before allocating rawLen bytes: the frame must
	// declare its content size, and it must be the raw length.
	var fh zstd.Header
	if err := fh.Decode(payload); err != nil {
		return nil, chunkHeader{}, corruptf("zstd frame header: %v", err)
	}
	if fh.Skippable || fh.DictionaryID != 0 {
		return nil, chunkHeader{}, corruptf("zstd frame is skippable or needs a dictionary")
	}
	if !fh.HasFCS {
		return nil, chunkHeader{}, corruptf("zstd frame does not declare its content size")
	}
	if fh.FrameContentSize != uint64(h.rawLen) {
		return nil, chunkHeader{}, corruptf("zstd frame declares %d bytes, header says %d", fh.FrameContentSize, h.rawLen)
	}
	// The decoder is built with WithDecodeAllCapLimit, so it refuses to
	// produce more than cap(dst) = rawLen bytes.
	raw, err := zstdDecoder.DecodeAll(payload, make([]byte, 0, int(h.rawLen)))
	if err != nil {
		return nil, chunkHeader{}, corruptf("decompressing chunk: %v", err)
	}
	if len(raw) != int(h.rawLen) {
		return nil, chunkHeader{}, corruptf("chunk decompressed to %d bytes, header says %d", len(raw), h.rawLen)
	}
	return raw, h, nil
}

// chunkEncoder holds scratch buffers reused across the chunks of one
// Encode call. It is not safe for concurrent use.
type chunkEncoder struct {
	raw    []byte   // record block before compression
	keys   []string // property keys being sorted
	sample []byte   // compressed sample of a record block
}

// worthCompressing reports whether raw is worth compressing, judged by its
// first compressSample bytes: a sample that zstd does not shrink by a tenth
// says the bodies are compressed or random already, and compressing the
// whole block would cost the CPU for next to nothing. A block smaller than
// two samples is always tried.
func (e *chunkEncoder) worthCompressing(raw []byte) bool {
	if len(raw) < 2*compressSample {
		return true
	}
	e.sample = zstdEncoder.EncodeAll(raw[:compressSample], e.sample[:0])
	return len(e.sample)*10 < compressSample*storeRatio
}

// chunkRawSize validates c and returns the exact size of its record block.
func chunkRawSize(c *ChunkInput) (int, error) {
	if c.Topic == "" {
		return 0, errors.New("empty topic")
	}
	if len(c.Records) == 0 {
		return 0, errors.New("no records")
	}
	n := 0
	for i := range c.Records {
		n += recordSize(&c.Records[i])
		if n > MaxRawChunkSize {
			return 0, fmt.Errorf("records exceed %d bytes at record %d", MaxRawChunkSize, i)
		}
	}
	return n, nil
}

// zstdBound is a safe upper bound on the zstd-compressed size of n bytes
// (the reference ZSTD_COMPRESSBOUND is n + n/256 + a small constant).
func zstdBound(n int) int {
	return n + n>>7 + 512
}

// appendChunk appends chunk c, whose record block is rawSize bytes (from
// chunkRawSize), to dst. The returned info's Offset is the chunk's position
// in dst.
func (e *chunkEncoder) appendChunk(dst []byte, c *ChunkInput, rawSize int) ([]byte, ChunkInfo, error) {
	if cap(e.raw) < rawSize {
		e.raw = make([]byte, 0, rawSize)
	}
	raw := e.raw[:0]
	minMs, maxMs := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range c.Records {
		r := &c.Records[i]
		raw, e.keys = appendRecord(raw, r, e.keys)
		ms := r.StoreTime.UnixMilli()
		minMs = min(minMs, ms)
		maxMs = max(maxMs, ms)
	}
	e.raw = raw
	if len(raw) != rawSize {
		// Only possible if a record was modified while being encoded.
		return nil, ChunkInfo{}, fmt.Errorf("records encoded to %d bytes, sized as %d (modified during encoding?)", len(raw), rawSize)
	}

	start := len(dst)
	dst = slices.Grow(dst, ChunkHeaderSize+zstdBound(rawSize))
	dst = dst[:start+ChunkHeaderSize]
	version, codec := byte(chunkVersionZstd), byte(codecZstd)
	if e.worthCompressing(raw) {
		dst = zstdEncoder.EncodeAll(raw, dst)
	}
	if len(dst) == start+ChunkHeaderSize || len(dst)-start-ChunkHeaderSize >= rawSize {
		// Not worth compressing (already compressed or random bodies, say), or
		// compression did not shrink it: stored as it is.
		dst = append(dst[:start+ChunkHeaderSize], raw...)
		version, codec = ChunkVersion, codecNone
	}
	payloadLen := len(dst) - start - ChunkHeaderSize
	if payloadLen > math.MaxUint32 {
		return nil, ChunkInfo{}, fmt.Errorf("compressed payload of %d bytes is too large", payloadLen)
	}

	hdr := dst[start : start+ChunkHeaderSize]
	copy(hdr[0:4], chunkMagic)
	hdr[4] = version
	hdr[5] = codec
	hdr[6] = 0
	hdr[7] = 0
	binary.LittleEndian.PutUint32(hdr[8:12], uint32(len(c.Records)))
	binary.LittleEndian.PutUint32(hdr[12:16], uint32(rawSize))
	binary.LittleEndian.PutUint32(hdr[16:20], uint32(payloadLen))
	crc := crc32.Update(crc32.Checksum(hdr[0:20], castagnoli), castagnoli, dst[start+ChunkHeaderSize:])
	binary.LittleEndian.PutUint32(hdr[20:24], crc)

	info := ChunkInfo{
		Topic:        c.Topic,
		QueueID:      c.QueueID,
		LiteTopic:    c.LiteTopic,
		Offset:       int64(start),
		Length:       int64(len(dst) - start),
		Count:        len(c.Records),
		RawBytes:     int64(rawSize),
		MinStoreTime: milliToTime(minMs),
		MaxStoreTime: milliToTime(maxMs),
	}
	return dst, info, nil
}

// ChunkSpan is where one chunk lies within a byte range: its offset from the range's start
// and its length.
type ChunkSpan struct {
	Offset, Length int64
}

// SplitChunks walks b, a range of an object that starts at a chunk boundary, and returns the
// spans of the whole chunks it holds, in order. It reads only the fixed headers (magic,
// version, codec, reserved bytes, payload length) and stops at the first bytes that do not
// frame a whole chunk: a chunk cut off by the range's end, or the footer. The checksums are
// not verified here; DecodeChunk verifies each chunk when it is decoded.
func SplitChunks(b []byte) []ChunkSpan {
	var out []ChunkSpan
	for off := int64(0); int64(len(b))-off >= ChunkHeaderSize; {
		h := b[off:]
		if string(h[0:4]) != chunkMagic || h[4] < chunkVersionZstd || h[4] > ChunkVersion || h[5] > codecZstd || h[6] != 0 || h[7] != 0 {
			break
		}
		n := ChunkHeaderSize + int64(binary.LittleEndian.Uint32(h[16:20]))
		if n > int64(len(h)) {
			break
		}
		out = append(out, ChunkSpan{Offset: off, Length: n})
		off += n
	}
	return out
}
