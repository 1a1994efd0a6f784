package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	incompressible := make([]byte, 3<<20)
	for i := range incompressible {
		incompressible[i] = byte(rng.Uint32())
	}
	compressible := bytes.Repeat([]byte("floe "), 2<<20) // 10 MiB

	tests := []struct {
		name   string
		chunks []ChunkInput
	}{
		{
			name:   "one empty record",
			chunks: []ChunkInput{{Topic: "t", Records: []Record{{}}}},
		},
		{
			name:   "many queues",
			chunks: makeChunks(1, 40, 25, 300),
		},
		{
			name: "empty optional fields",
			chunks: []ChunkInput{{Topic: "t", QueueID: 3, Records: []Record{
				{MessageID: "only-id"},
				{StoreTime: baseTime},
				{Body: []byte("only body")},
				{Flags: 1},
			}}},
		},
		{
			name: "nil vs empty collections",
			chunks: []ChunkInput{{Topic: "t", Records: []Record{
				{MessageID: "a", Keys: nil, Properties: nil, Body: nil},
				{MessageID: "b", Keys: []string{}, Properties: map[string]string{}, Body: []byte{}},
				{MessageID: "c", Keys: []string{""}, Properties: map[string]string{"": ""}, Body: []byte{0}},
			}}},
		},
		{
			name: "unicode",
			chunks: []ChunkInput{{Topic: "主题/τοπικ", QueueID: -1, LiteTopic: "lite-ß", Records: []Record{{
				MessageID:    "消息-1",
				Tag:          "標籤||tag",
				Keys:         []string{"ключ", "🔑", "ключ"},
				Properties:   map[string]string{"ä": "ö", "z": "ž", "A": "🙂", "\x00": "\xff\xfe invalid utf-8"},
				MessageGroup: "グループ",
				LiteTopic:    "lite-ß",
				Body:         []byte("héllo wörld ✓"),
				StoreTime:    baseTime,
			}}}},
		},
		{
			name: "times",
			chunks: []ChunkInput{{Topic: "t", Records: []Record{
				{StoreTime: time.UnixMilli(0)},                        // the Unix epoch is not "absent"
				{StoreTime: time.UnixMilli(-1).Add(-time.Nanosecond)}, // before 1970
				{BornTime: baseTime, StoreTime: baseTime.Add(time.Microsecond), DeliveryTime: baseTime.Add(time.Hour)},
				{StoreTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600))},
				{StoreTime: baseTime.In(time.FixedZone("y", -7*3600))},
			}}},
		},
		{
			name: "max values",
			chunks: []ChunkInput{{Topic: "t", QueueID: math.MaxInt32, Records: []Record{
				{Flags: math.MaxUint32, StoreTime: baseTime},
			}}, {Topic: "t", QueueID: math.MinInt32, Records: []Record{
				{Flags: math.MaxUint32, StoreTime: baseTime},
			}}},
		},
		{
			name: "big bodies",
			chunks: []ChunkInput{
				{Topic: "big", Records: []Record{{MessageID: "rand", Body: incompressible, StoreTime: baseTime}}},
				{Topic: "big", QueueID: 1, Records: []Record{{MessageID: "text", Body: compressible, StoreTime: baseTime}}},
				{Topic: "small", Records: []Record{{MessageID: "tiny", Body: []byte("x")}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			object, infos, err := Encode(tc.chunks)
			require.NoError(t, err)
			require.Len(t, infos, len(tc.chunks))

			var next int64
			for i, in := range infos {
				c := tc.chunks[i]
				require.Equal(t, c.Topic, in.Topic)
				require.Equal(t, c.QueueID, in.QueueID)
				require.Equal(t, c.LiteTopic, in.LiteTopic)
				require.Equal(t, next, in.Offset, "chunks are contiguous")
				require.Equal(t, len(c.Records), in.Count)
				next += in.Length

				want := normalizeAll(c.Records)
				minT, maxT := want[0].StoreTime, want[0].StoreTime
				var raw int64
				for j := range c.Records {
					raw += int64(recordSize(&c.Records[j]))
					if want[j].StoreTime.Before(minT) {
						minT = want[j].StoreTime
					}
					if want[j].StoreTime.After(maxT) {
						maxT = want[j].StoreTime
					}
				}
				require.Equal(t, raw, in.RawBytes)
				require.Equal(t, minT, in.MinStoreTime)
				require.Equal(t, maxT, in.MaxStoreTime)

				chunk := object[in.Offset : in.Offset+in.Length]
				got, err := DecodeChunk(chunk)
				require.NoError(t, err)
				require.Equal(t, want, got)

				// A chunk encodes the same alone as inside an object.
				alone, aloneInfo, err := EncodeChunk(c)
				require.NoError(t, err)
				require.Equal(t, chunk, alone)
				aloneInfo.Offset = in.Offset
				require.Equal(t, in, aloneInfo)
			}

			footer, err := DecodeFooter(object)
			require.NoError(t, err)
			require.Equal(t, infos, footer)
			require.Equal(t, infos, readFooterRanged(t, object))
		})
	}
}

func TestDecodedBodiesDoNotOverlap(t *testing.T) {
	object, infos, err := Encode([]ChunkInput{{Topic: "t", Records: []Record{
		{Body: []byte("aaaa")}, {Body: []byte("bbbb")},
	}}})
	require.NoError(t, err)
	recs, err := DecodeChunk(object[:infos[0].Length])
	require.NoError(t, err)
	recs[0].Body = append(recs[0].Body, "XXXX"...)
	require.Equal(t, []byte("bbbb"), recs[1].Body)
	// Records do not alias the input.
	clear(object)
	require.Equal(t, []byte("aaaaXXXX"), recs[0].Body)
}

func TestZeroTimes(t *testing.T) {
	object, infos, err := Encode([]ChunkInput{{Topic: "t", Records: []Record{{MessageID: "x"}}}})
	require.NoError(t, err)
	require.True(t, infos[0].MinStoreTime.IsZero())
	require.Equal(t, time.Time{}, infos[0].MinStoreTime)
	require.Equal(t, time.Time{}, infos[0].MaxStoreTime)
	footer, err := DecodeFooter(object)
	require.NoError(t, err)
	require.Equal(t, time.Time{}, footer[0].MinStoreTime)
	recs, err := DecodeChunk(object[:infos[0].Length])
	require.NoError(t, err)
	require.Equal(t, Record{MessageID: "x"}, recs[0])
}

func TestDeterministic(t *testing.T) {
	props := map[string]string{}
	for i := range 50 {
		props[string(rune('a'+i%26))+string(rune('A'+i))] = "v"
	}
	chunks := makeChunks(3, 4, 50, 200)
	chunks[0].Records[0].Properties = props
	first, _, err := Encode(chunks)
	require.NoError(t, err)
	for range 20 {
		again, _, err := Encode(chunks)
		require.NoError(t, err)
		require.True(t, bytes.Equal(first, again))
	}
}

func TestEncodeErrors(t *testing.T) {
	_, _, err := Encode(nil)
	require.Error(t, err)
	_, _, err = Encode([]ChunkInput{})
	require.Error(t, err)
	_, _, err = Encode([]ChunkInput{{Topic: "t", Records: []Record{{}}}, {Topic: "t", QueueID: 1}})
	require.ErrorContains(t, err, "no records")
	_, _, err = Encode([]ChunkInput{{Records: []Record{{}}}})
	require.ErrorContains(t, err, "empty topic")
	_, _, err = EncodeChunk(ChunkInput{Topic: "t"})
	require.ErrorContains(t, err, "no records")

	big := make([]byte, MaxRawChunkSize)
	_, _, err = Encode([]ChunkInput{{Topic: "t", Records: []Record{{Body: big}}}})
	require.ErrorContains(t, err, "exceed")
	_, _, err = EncodeChunk(ChunkInput{Topic: "t", Records: []Record{{Body: big}}})
	require.ErrorContains(t, err, "exceed")
}

// smallObject returns a small object with two chunks for corruption tests.
func smallObject(t *testing.T) []byte {
	t.Helper()
	object, _, err := Encode([]ChunkInput{
		{Topic: "t", QueueID: 1, Records: []Record{
			{MessageID: "m1", Tag: "a", Keys: []string{"k"}, Properties: map[string]string{"p": "q"}, StoreTime: baseTime, Body: []byte("hello")},
			{MessageID: "m2", StoreTime: baseTime.Add(time.Second), DeliveryTime: baseTime.Add(time.Minute), Body: []byte("world")},
		}},
		{Topic: "u", QueueID: 2, LiteTopic: "l", Records: []Record{{MessageID: "m3", Body: []byte("!")}}},
	})
	require.NoError(t, err)
	return object
}

func requireDecodeError(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupportedVersion), "%s: %v", what, err)
}

func TestCorruptionEveryBit(t *testing.T) {
	object := smallObject(t)
	infos, chunks, err := decodeObject(object)
	require.NoError(t, err)
	require.Len(t, chunks, 2)

	for i := range object {
		for bit := range 8 {
			bad := slices.Clone(object)
			bad[i] ^= 1 << bit
			_, _, err := decodeObject(bad)
			requireDecodeError(t, err, "object flip")
		}
		bad := slices.Clone(object)
		bad[i] ^= 0xff
		_, _, err := decodeObject(bad)
		requireDecodeError(t, err, "object byte flip")
	}

	// Each chunk on its own, as read with a ranged GET.
	for _, in := range infos {
		chunk := object[in.Offset : in.Offset+in.Length]
		for i := range chunk {
			for bit := range 8 {
				bad := slices.Clone(chunk)
				bad[i] ^= 1 << bit
				_, err := DecodeChunk(bad)
				requireDecodeError(t, err, "chunk flip")
			}
		}
	}

	// Footer and trailer read with two ranged GETs.
	n, err := FooterLength(object[len(object)-TrailerSize:])
	require.NoError(t, err)
	tail := object[len(object)-TrailerSize-int(n):]
	for i := range tail {
		for bit := range 8 {
			bad := slices.Clone(tail)
			bad[i] ^= 1 << bit
			_, err := DecodeFooterBytes(bad[:n], bad[n:])
			requireDecodeError(t, err, "footer flip")
		}
	}
}

func TestCorruptionTruncate(t *testing.T) {
	object := smallObject(t)
	for n := range len(object) {
		_, err := DecodeFooter(object[:n])
		requireDecodeError(t, err, "truncated object")
		// Dropping leading bytes moves every offset.
		_, err = DecodeFooter(object[n+1:])
		requireDecodeError(t, err, "object without its head")
	}
	_, err := DecodeFooter(append(slices.Clone(object), 0))
	requireDecodeError(t, err, "object with an extra byte")
	_, err = DecodeFooter(append([]byte{0}, object...))
	requireDecodeError(t, err, "object with a leading byte")

	infos, err := DecodeFooter(object)
	require.NoError(t, err)
	for _, in := range infos {
		chunk := object[in.Offset : in.Offset+in.Length]
		for n := range len(chunk) {
			_, err := DecodeChunk(chunk[:n])
			requireDecodeError(t, err, "truncated chunk")
			_, err = DecodeChunk(chunk[n+1:])
			requireDecodeError(t, err, "chunk without its head")
		}
		_, err := DecodeChunk(append(slices.Clone(chunk), 0))
		requireDecodeError(t, err, "chunk with an extra byte")
	}

	// The whole object is not one chunk.
	_, err = DecodeChunk(object)
	requireDecodeError(t, err, "object as chunk")

	n, err := FooterLength(object[len(object)-TrailerSize:])
	require.NoError(t, err)
	trailer := object[len(object)-TrailerSize:]
	footer := object[len(object)-TrailerSize-int(n) : len(object)-TrailerSize]
	for k := range TrailerSize {
		_, err := FooterLength(trailer[:k])
		requireDecodeError(t, err, "short trailer")
		_, err = DecodeFooterBytes(footer, trailer[:k])
		requireDecodeError(t, err, "short trailer")
	}
	for k := range len(footer) {
		_, err := DecodeFooterBytes(footer[:k], trailer)
		requireDecodeError(t, err, "truncated footer")
		_, err = DecodeFooterBytes(footer[k+1:], trailer)
		requireDecodeError(t, err, "footer without its head")
	}
	_, err = FooterLength(object[len(object)-TrailerSize-1:])
	requireDecodeError(t, err, "long trailer")
}

func TestVersions(t *testing.T) {
	object := smallObject(t)
	infos, err := DecodeFooter(object)
	require.NoError(t, err)

	chunk := slices.Clone(object[:infos[0].Length])
	chunk[4] = ChunkVersion + 1
	fixChunkCRC(chunk)
	_, err = DecodeChunk(chunk)
	require.ErrorIs(t, err, ErrUnsupportedVersion)

	chunk[4] = ChunkVersion
	chunk[5] = codecZstd + 1
	fixChunkCRC(chunk)
	_, err = DecodeChunk(chunk)
	require.ErrorIs(t, err, ErrUnsupportedVersion)

	bad := slices.Clone(object)
	bad[len(bad)-1] = ObjectVersion + 1
	_, err = DecodeFooter(bad)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	_, err = FooterLength(bad[len(bad)-TrailerSize:])
	require.ErrorIs(t, err, ErrUnsupportedVersion)
}

// rawRecords encodes recs as a record block.
func rawRecords(recs ...Record) []byte {
	var raw []byte
	for i := range recs {
		raw, _ = appendRecord(raw, &recs[i], nil)
	}
	return raw
}

func TestHostileChunks(t *testing.T) {
	good := rawRecords(Record{MessageID: "a", Body: []byte("body")}, Record{MessageID: "b"})
	_, err := DecodeChunk(buildChunk(good, 2, uint32(len(good))))
	require.NoError(t, err, "the builder itself works")

	tests := []struct {
		name  string
		chunk []byte
	}{
		{"raw length over limit", buildChunk(good, 2, MaxRawChunkSize+1)},
		{"raw length max uint32", buildChunk(good, 2, math.MaxUint32)},
		{"raw length short", buildChunk(good, 2, uint32(len(good)-1))},
		{"raw length long", buildChunk(good, 2, uint32(len(good)+1))},
		{"count zero", buildChunk(good, 0, uint32(len(good)))},
		{"count too small", buildChunk(good, 1, uint32(len(good)))},
		{"count too large", buildChunk(good, 3, uint32(len(good)))},
		{"count huge", buildChunk(good, math.MaxUint32, uint32(len(good)))},
		{"trailing bytes", buildChunk(append(slices.Clone(good), 0), 2, uint32(len(good)+1))},
		{"unknown presence bit", buildChunk(append([]byte{0x08}, good[1:]...), 2, uint32(len(good)))},
		{"over-long varint", oneRecordChunk(append([]byte{0, 0x80, 0x00}, make([]byte, 9)...))},
		{"flags overflow", oneRecordChunk(append(binary.AppendUvarint([]byte{0}, 1<<32), make([]byte, 7)...))},
		{"string past end", oneRecordChunk([]byte{0, 0, 100, 0, 0, 0, 0, 0, 0})},
		{"keys count past end", oneRecordChunk([]byte{0, 0, 0, 0, 100, 0, 0, 0, 0})},
		{"props count past end", oneRecordChunk([]byte{0, 0, 0, 0, 0, 100, 0, 0, 0})},
		{"body past end", oneRecordChunk([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1})},
		{"zero time marked present", oneRecordChunk(append(binary.AppendVarint([]byte{hasStoreTime, 0}, zeroUnixMilli), make([]byte, 7)...))},
		{"time missing", oneRecordChunk([]byte{hasBornTime, 0, 0, 0, 0, 0, 0, 0, 0})},
		{"unsorted properties", oneRecordChunk(rawPropsBlock("b", "a"))},
		{"duplicate properties", oneRecordChunk(rawPropsBlock("a", "a"))},
		{"garbage payload", frameChunk([]byte("not zstd at all"), 1, 9)},
		{"empty payload", frameChunk(nil, 1, 9)},
		{"reserved bytes", func() []byte {
			c := buildChunk(good, 2, uint32(len(good)))
			c[6] = 1
			fixChunkCRC(c)
			return c
		}()},
		{"bad magic", func() []byte {
			c := buildChunk(good, 2, uint32(len(good)))
			c[0] = 'X'
			fixChunkCRC(c)
			return c
		}()},
		{"frame without content size", func() []byte {
			enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(false))
			require.NoError(t, err)
			return frameChunk(enc.EncodeAll(good, nil), 2, uint32(len(good)))
		}()},
		{"skippable frame", func() []byte {
			p := []byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4}
			return frameChunk(append(p, zstdEncoder.EncodeAll(good, nil)...), 2, uint32(len(good)))
		}()},
		{"two frames", func() []byte {
			p := zstdEncoder.EncodeAll(good, nil)
			p = zstdEncoder.EncodeAll(good, p)
			return frameChunk(p, 2, uint32(len(good)))
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := DecodeChunk(tc.chunk)
			requireDecodeError(t, err, tc.name)
			require.Nil(t, recs)
		})
	}

	// A sorted version of the property block decodes, so the failures above
	// are about order.
	_, err = DecodeChunk(oneRecordChunk(rawPropsBlock("a", "b")))
	require.NoError(t, err)
	_, err = DecodeChunk(oneRecordChunk(make([]byte, 9)))
	require.NoError(t, err, "nine zero bytes are the smallest record")
}

// oneRecordChunk frames raw as a chunk of one record.
func oneRecordChunk(raw []byte) []byte {
	return buildChunk(raw, 1, uint32(len(raw)))
}

// rawPropsBlock returns a one-record block whose two property keys are
// written in the given order.
func rawPropsBlock(k1, k2 string) []byte {
	b := []byte{0, 0, 0, 0, 0} // presence, flags, id, tag, keys
	b = append(b, 2)
	b = appendString(b, k1)
	b = appendString(b, "v")
	b = appendString(b, k2)
	b = appendString(b, "v")
	return append(b, 0, 0, 0) // group, lite topic, body
}

func TestHostileFooters(t *testing.T) {
	entry := func(b []byte, topic string, q int64, off, length, count, raw uint64, minMs, maxMs int64) []byte {
		b = appendString(b, topic)
		b = binary.AppendVarint(b, q)
		b = appendString(b, "")
		b = binary.AppendUvarint(b, off)
		b = binary.AppendUvarint(b, length)
		b = binary.AppendUvarint(b, count)
		b = binary.AppendUvarint(b, raw)
		b = binary.AppendVarint(b, minMs)
		return binary.AppendVarint(b, maxMs)
	}
	one := func(e []byte) []byte { return append([]byte{1}, e...) }

	valid := one(entry(nil, "t", 0, 0, 100, 1, 9, 5, 6))
	_, err := DecodeFooterBytes(valid, trailerFor(valid))
	require.NoError(t, err, "the builder itself works")

	tests := []struct {
		name   string
		footer []byte
	}{
		{"no chunks", append([]byte{0}, make([]byte, 9)...)},
		{"count huge", append(binary.AppendUvarint(nil, 1<<40), make([]byte, 20)...)},
		{"count too large", append([]byte{2}, entry(nil, "t", 0, 0, 100, 1, 9, 5, 6)...)},
		{"empty topic", one(entry(nil, "", 0, 0, 100, 1, 9, 5, 6))},
		{"queue id overflow", one(entry(nil, "t", math.MaxInt32+1, 0, 100, 1, 9, 5, 6))},
		{"queue id underflow", one(entry(nil, "t", math.MinInt32-1, 0, 100, 1, 9, 5, 6))},
		{"offset not zero", one(entry(nil, "t", 0, 1, 100, 1, 9, 5, 6))},
		{"gap between chunks", append([]byte{2}, entry(entry(nil, "t", 0, 0, 100, 1, 9, 5, 6), "t", 1, 101, 100, 1, 9, 5, 6)...)},
		{"length too small", one(entry(nil, "t", 0, 0, ChunkHeaderSize, 1, 9, 5, 6))},
		{"length too large", one(entry(nil, "t", 0, 0, maxChunkLength+1, 1, 9, 5, 6))},
		{"zero records", one(entry(nil, "t", 0, 0, 100, 0, 9, 5, 6))},
		{"records exceed raw", one(entry(nil, "t", 0, 0, 100, 2, 17, 5, 6))},
		{"raw too large", one(entry(nil, "t", 0, 0, 100, 1, MaxRawChunkSize+1, 5, 6))},
		{"min after max", one(entry(nil, "t", 0, 0, 100, 1, 9, 7, 6))},
		{"trailing byte", append(slices.Clone(valid), 0)},
		{"over-long varint", append([]byte{0x81, 0x00}, entry(nil, "t", 0, 0, 100, 1, 9, 5, 6)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			infos, err := DecodeFooterBytes(tc.footer, trailerFor(tc.footer))
			requireDecodeError(t, err, tc.name)
			require.Nil(t, infos)
		})
	}

	t.Run("footer length", func(t *testing.T) {
		for _, n := range []uint32{0, 1, 9, MaxFooterSize + 1, math.MaxUint32} {
			tr := trailerFor(valid)
			binary.LittleEndian.PutUint32(tr[0:4], n)
			_, err := FooterLength(tr)
			requireDecodeError(t, err, "footer length")
		}
	})

	t.Run("footer longer than object", func(t *testing.T) {
		object := append(slices.Clone(valid), trailerFor(valid)...)
		_, err := DecodeFooter(object)
		requireDecodeError(t, err, "chunks before footer missing")
		binary.LittleEndian.PutUint32(object[len(object)-TrailerSize:], uint32(len(object)))
		_, err = DecodeFooter(object)
		requireDecodeError(t, err, "footer longer than object")
	})
}

func TestConcurrent(t *testing.T) {
	chunks := makeChunks(9, 4, 100, 500)
	want, _, err := Encode(chunks)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				object, infos, err := Encode(chunks)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(want, object) {
					errs <- errors.New("encoding differs")
					return
				}
				for _, in := range infos {
					if _, err := DecodeChunk(object[in.Offset : in.Offset+in.Length]); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestAssemble(t *testing.T) {
	chunks := makeChunks(11, 5, 20, 100)
	object, infos, err := Encode(chunks)
	require.NoError(t, err)

	// Keep chunks 3 and 1 (in that order) from the old object and add a
	// rewritten chunk, as the compactor would.
	rewritten, rewrittenInfo, err := EncodeChunk(ChunkInput{Topic: "new", QueueID: 9, Records: chunks[0].Records[:5]})
	require.NoError(t, err)
	parts := []EncodedChunk{
		{Bytes: object[infos[3].Offset : infos[3].Offset+infos[3].Length], Info: infos[3]},
		{Bytes: object[infos[1].Offset : infos[1].Offset+infos[1].Length], Info: infos[1]},
		{Bytes: rewritten, Info: rewrittenInfo},
	}
	assembled, newInfos, err := Assemble(parts)
	require.NoError(t, err)
	footer, err := DecodeFooter(assembled)
	require.NoError(t, err)
	require.Equal(t, newInfos, footer)
	_, all, err := decodeObject(assembled)
	require.NoError(t, err)
	require.Equal(t, normalizeAll(chunks[3].Records), all[0])
	require.Equal(t, normalizeAll(chunks[1].Records), all[1])
	require.Equal(t, normalizeAll(chunks[0].Records[:5]), all[2])
	for i, in := range newInfos {
		want := parts[i].Info
		want.Offset = in.Offset
		require.Equal(t, want, in)
	}

	// Assembling what Encode made gives the same object.
	same := make([]EncodedChunk, len(infos))
	for i, in := range infos {
		same[i] = EncodedChunk{Bytes: object[in.Offset : in.Offset+in.Length], Info: in}
	}
	again, _, err := Assemble(same)
	require.NoError(t, err)
	require.Equal(t, object, again)

	_, _, err = Assemble(nil)
	require.Error(t, err)
	bad := slices.Clone(parts)
	bad[0].Info.Count++
	_, _, err = Assemble(bad)
	require.ErrorContains(t, err, "info says")
	bad = slices.Clone(parts)
	bad[1].Info.Length--
	_, _, err = Assemble(bad)
	require.ErrorContains(t, err, "info says")
	bad = slices.Clone(parts)
	bad[2].Bytes = slices.Clone(rewritten)
	bad[2].Bytes[30] ^= 1
	_, _, err = Assemble(bad)
	require.ErrorIs(t, err, ErrCorrupt)
	bad = slices.Clone(parts)
	bad[2].Info.Topic = ""
	_, _, err = Assemble(bad)
	require.ErrorContains(t, err, "empty topic")
}

// A Writer makes, chunk by chunk, the object Encode makes of the same chunks, whether
// its buffer starts large enough or has to grow; the footer says where each chunk sits.
func TestWriterMakesWhatEncodeMakes(t *testing.T) {
	chunks := makeChunks(5, 6, 30, 700)
	want, wantInfos, err := Encode(chunks)
	require.NoError(t, err)
	for _, hint := range []int{0, 100, len(want) * 2} {
		w := NewWriter(hint)
		for i, c := range chunks {
			info, err := w.Append(c)
			require.NoError(t, err)
			require.Equal(t, wantInfos[i].Offset, info.Offset, "chunk %d", i)
		}
		object, infos, err := w.Finish()
		require.NoError(t, err)
		require.Equal(t, want, object, "hint %d", hint)
		require.Equal(t, wantInfos, infos)
		footer, err := DecodeFooter(object)
		require.NoError(t, err)
		require.Len(t, footer, len(chunks))
	}
	_, _, err = NewWriter(10).Finish()
	require.ErrorContains(t, err, "no chunks")
	_, err = NewWriter(10).Append(ChunkInput{Topic: "t"})
	require.Error(t, err, "a chunk without records")
}

// DecodeOwnedChunk decodes what DecodeChunk decodes; a stored chunk's bodies then point
// into the bytes handed over, and a compressed chunk's do not.
func TestDecodeOwnedChunkSharesStoredBytesOnly(t *testing.T) {
	for _, compressible := range []bool{false, true} {
		in := makeChunks(8, 1, 40, 0)[0]
		r := uint64(3)
		for i := range in.Records {
			body := bytes.Repeat([]byte("floe"), 512)
			for j := range body {
				if !compressible {
					r = r*6364136223846793005 + 1442695040888963407
					body[j] = byte(r >> 56)
				}
			}
			in.Records[i].Body = body
		}
		chunk, _, err := EncodeChunk(in)
		require.NoError(t, err)
		want, err := DecodeChunk(chunk)
		require.NoError(t, err)
		got, err := DecodeOwnedChunk(chunk)
		require.NoError(t, err)
		require.Equal(t, want, got)
		body := got[0].Body
		inside := uintptr(unsafe.Pointer(&body[0])) >= uintptr(unsafe.Pointer(&chunk[0])) &&
			uintptr(unsafe.Pointer(&body[0])) < uintptr(unsafe.Pointer(&chunk[0]))+uintptr(len(chunk))
		require.Equal(t, chunk[5] == codecNone, inside, "compressible %v", compressible)
		require.Equal(t, !compressible, chunk[5] == codecNone, "random bodies are stored, repeated ones compressed")
	}
	_, err := DecodeOwnedChunk([]byte("not a chunk"))
	require.Error(t, err)
}
