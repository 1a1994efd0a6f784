package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// maxChunkLength is the largest chunk the header's uint32 payload length
// can describe.
const maxChunkLength = ChunkHeaderSize + math.MaxUint32

// maxFooterEntrySize returns an upper bound on the footer entry of c.
func maxFooterEntrySize(c *ChunkInput) int {
	return stringSize(len(c.Topic)) + stringSize(len(c.LiteTopic)) + 8*binary.MaxVarintLen64
}

// appendFooter appends the footer describing infos to dst.
func appendFooter(dst []byte, infos []ChunkInfo) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(infos)))
	for i := range infos {
		in := &infos[i]
		dst = appendString(dst, in.Topic)
		dst = binary.AppendVarint(dst, int64(in.QueueID))
		dst = appendString(dst, in.LiteTopic)
		dst = binary.AppendUvarint(dst, uint64(in.Offset))
		dst = binary.AppendUvarint(dst, uint64(in.Length))
		dst = binary.AppendUvarint(dst, uint64(in.Count))
		dst = binary.AppendUvarint(dst, uint64(in.RawBytes))
		dst = binary.AppendVarint(dst, in.MinStoreTime.UnixMilli())
		dst = binary.AppendVarint(dst, in.MaxStoreTime.UnixMilli())
	}
	return dst
}

// appendTrailer appends the trailer for footer to dst. footer may alias dst.
func appendTrailer(dst []byte, footer []byte) []byte {
	var t [TrailerSize]byte
	binary.LittleEndian.PutUint32(t[0:4], uint32(len(footer)))
	binary.LittleEndian.PutUint32(t[4:8], crc32.Checksum(footer, castagnoli))
	copy(t[8:15], objectMagic)
	t[15] = ObjectVersion
	return append(dst, t[:]...)
}

// FooterLength returns the length of the footer that immediately precedes
// trailer, the last TrailerSize bytes of an object. It checks the magic and
// version and bounds the length by MaxFooterSize.
//
// A reader fetches a footer with two ranged GETs: the last TrailerSize bytes
// ("bytes=-16"), then the n = FooterLength bytes before them ("bytes=-(n+16)"
// and drop the trailer, or the absolute range when the object size is known),
// and passes both to DecodeFooterBytes.
func FooterLength(trailer []byte) (int64, error) {
	n, err := footerLength(trailer)
	if err != nil {
		return 0, fmt.Errorf("segment: decode trailer: %w", err)
	}
	return n, nil
}

func footerLength(trailer []byte) (int64, error) {
	if len(trailer) != TrailerSize {
		return 0, corruptf("trailer is %d bytes, want %d", len(trailer), TrailerSize)
	}
	if string(trailer[8:15]) != objectMagic {
		return 0, corruptf("bad object magic %q", trailer[8:15])
	}
	if trailer[15] != ObjectVersion {
		return 0, fmt.Errorf("%w: object version %d", ErrUnsupportedVersion, trailer[15])
	}
	n := binary.LittleEndian.Uint32(trailer[0:4])
	if n < 1+minFooterEntrySize || n > MaxFooterSize {
		return 0, corruptf("footer length %d out of range [%d, %d]", n, 1+minFooterEntrySize, MaxFooterSize)
	}
	return int64(n), nil
}

// DecodeFooterBytes decodes a footer fetched on its own: footer is exactly
// the FooterLength(trailer) bytes before trailer, and trailer is the
// object's last TrailerSize bytes. It verifies the checksum and that the
// chunks are contiguous from offset 0; unlike DecodeFooter it cannot check
// that the last chunk ends where the footer starts.
func DecodeFooterBytes(footer []byte, trailer []byte) ([]ChunkInfo, error) {
	infos, _, err := decodeFooterBytes(footer, trailer)
	if err != nil {
		return nil, fmt.Errorf("segment: decode footer: %w", err)
	}
	return infos, nil
}

// DecodeFooter decodes the footer of a whole object. In addition to the
// checks of DecodeFooterBytes it verifies that the chunks exactly fill the
// object up to the footer.
func DecodeFooter(object []byte) ([]ChunkInfo, error) {
	infos, err := decodeFooter(object)
	if err != nil {
		return nil, fmt.Errorf("segment: decode footer: %w", err)
	}
	return infos, nil
}

func decodeFooter(object []byte) ([]ChunkInfo, error) {
	if len(object) < TrailerSize {
		return nil, corruptf("object of %d bytes is shorter than its %d-byte trailer", len(object), TrailerSize)
	}
	trailerStart := len(object) - TrailerSize
	trailer := object[trailerStart:]
	n, err := footerLength(trailer)
	if err != nil {
		return nil, err
	}
	if n > int64(trailerStart) {
		return nil, corruptf("footer length %d exceeds the %d bytes before the trailer", n, trailerStart)
	}
	footerStart := trailerStart - int(n)
	infos, end, err := decodeFooterBytes(object[footerStart:trailerStart], trailer)
	if err != nil {
		return nil, err
	}
	if end != int64(footerStart) {
		return nil, corruptf("chunks end at %d, footer starts at %d", end, footerStart)
	}
	return infos, nil
}

// decodeFooterBytes is DecodeFooterBytes without the outer error context.
// It also returns where the last chunk ends.
func decodeFooterBytes(footer []byte, trailer []byte) ([]ChunkInfo, int64, error) {
	n, err := footerLength(trailer)
	if err != nil {
		return nil, 0, err
	}
	if int64(len(footer)) != n {
		return nil, 0, corruptf("footer is %d bytes, trailer says %d", len(footer), n)
	}
	want := binary.LittleEndian.Uint32(trailer[4:8])
	if got := crc32.Checksum(footer, castagnoli); got != want {
		return nil, 0, corruptf("footer checksum %#08x, trailer says %#08x", got, want)
	}
	return decodeFooterBody(footer)
}

// decodeFooterBody parses the footer entries, which must fill footer
// exactly, and returns them with the offset where the last chunk ends.
func decodeFooterBody(footer []byte) ([]ChunkInfo, int64, error) {
	rd := reader{buf: footer}
	n, err := rd.count(minFooterEntrySize)
	if err != nil {
		return nil, 0, corruptf("footer chunk count: %v", err)
	}
	if n < 1 {
		return nil, 0, corruptf("footer lists no chunks")
	}
	infos := make([]ChunkInfo, n)
	var next int64
	for i := range infos {
		if err := decodeFooterEntry(&rd, &infos[i], next); err != nil {
			return nil, 0, corruptf("footer entry %d of %d: %v", i, n, err)
		}
		next += infos[i].Length
	}
	if rd.remaining() != 0 {
		return nil, 0, corruptf("%d bytes after the last footer entry", rd.remaining())
	}
	return infos, next, nil
}

// decodeFooterEntry decodes one footer entry into info. offset is where the
// chunk must start.
func decodeFooterEntry(rd *reader, info *ChunkInfo, offset int64) error {
	var err error
	if info.Topic, err = rd.string(); err != nil {
		return err
	}
	if info.Topic == "" {
		return errors.New("empty topic")
	}
	queueID, err := rd.varint()
	if err != nil {
		return err
	}
	if queueID < math.MinInt32 || queueID > math.MaxInt32 {
		return fmt.Errorf("queue id %d overflows int32", queueID)
	}
	info.QueueID = int32(queueID)
	if info.LiteTopic, err = rd.string(); err != nil {
		return err
	}
	off, err := rd.uvarint()
	if err != nil {
		return err
	}
	if off != uint64(offset) {
		return fmt.Errorf("chunk offset %d, want %d (chunks must be contiguous)", off, offset)
	}
	info.Offset = offset
	length, err := rd.uvarint()
	if err != nil {
		return err
	}
	if length <= ChunkHeaderSize || length > maxChunkLength {
		return fmt.Errorf("chunk length %d out of range", length)
	}
	info.Length = int64(length)
	count, err := rd.uvarint()
	if err != nil {
		return err
	}
	rawBytes, err := rd.uvarint()
	if err != nil {
		return err
	}
	if rawBytes > MaxRawChunkSize {
		return fmt.Errorf("raw bytes %d exceed %d", rawBytes, MaxRawChunkSize)
	}
	if count < 1 || count > rawBytes/minRecordSize {
		return fmt.Errorf("record count %d invalid for raw bytes %d", count, rawBytes)
	}
	info.Count = int(count)
	info.RawBytes = int64(rawBytes)
	minMs, err := rd.varint()
	if err != nil {
		return err
	}
	maxMs, err := rd.varint()
	if err != nil {
		return err
	}
	if minMs > maxMs {
		return fmt.Errorf("min store time %d after max store time %d", minMs, maxMs)
	}
	info.MinStoreTime = milliToTime(minMs)
	info.MaxStoreTime = milliToTime(maxMs)
	return nil
}
