package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
)

// errTruncated reports input that ends in the middle of a field.
var errTruncated = errors.New("unexpected end of data")

// Presence bits of an encoded record.
const (
	hasBornTime     = 1 << 0
	hasStoreTime    = 1 << 1
	hasDeliveryTime = 1 << 2
	presenceMask    = hasBornTime | hasStoreTime | hasDeliveryTime
)

// uvarintSize returns the encoded size of x as a uvarint.
func uvarintSize(x uint64) int {
	return (bits.Len64(x|1) + 6) / 7
}

// varintSize returns the encoded size of x as a zig-zag varint.
func varintSize(x int64) int {
	return uvarintSize(zigzag(x))
}

// zigzag maps a signed integer to an unsigned one as encoding/binary does.
func zigzag(x int64) uint64 {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return ux
}

// stringSize returns the encoded size of a length-prefixed string.
func stringSize(n int) int {
	return uvarintSize(uint64(n)) + n
}

// recordSize returns the exact encoded size of r.
func recordSize(r *Record) int {
	n := 1 + uvarintSize(uint64(r.Flags))
	if ms, ok := timeToMilli(r.BornTime); ok {
		n += varintSize(ms)
	}
	if ms, ok := timeToMilli(r.StoreTime); ok {
		n += varintSize(ms)
	}
	if ms, ok := timeToMilli(r.DeliveryTime); ok {
		n += varintSize(ms)
	}
	n += stringSize(len(r.MessageID))
	n += stringSize(len(r.Tag))
	n += uvarintSize(uint64(len(r.Keys)))
	for _, k := range r.Keys {
		n += stringSize(len(k))
	}
	n += uvarintSize(uint64(len(r.Properties)))
	for k, v := range r.Properties {
		n += stringSize(len(k)) + stringSize(len(v))
	}
	n += stringSize(len(r.MessageGroup))
	n += stringSize(len(r.LiteTopic))
	n += stringSize(len(r.Body))
	return n
}

// appendString appends a length-prefixed string.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendRecord appends the encoding of r to dst. sortScratch is reused to
// sort property keys; the (possibly grown) scratch is returned.
func appendRecord(dst []byte, r *Record, sortScratch []string) ([]byte, []string) {
	var presence byte
	bornMs, hasBorn := timeToMilli(r.BornTime)
	storeMs, hasStore := timeToMilli(r.StoreTime)
	deliveryMs, hasDelivery := timeToMilli(r.DeliveryTime)
	if hasBorn {
		presence |= hasBornTime
	}
	if hasStore {
		presence |= hasStoreTime
	}
	if hasDelivery {
		presence |= hasDeliveryTime
	}
	dst = append(dst, presence)
	dst = binary.AppendUvarint(dst, uint64(r.Flags))
	if hasBorn {
		dst = binary.AppendVarint(dst, bornMs)
	}
	if hasStore {
		dst = binary.AppendVarint(dst, storeMs)
	}
	if hasDelivery {
		dst = binary.AppendVarint(dst, deliveryMs)
	}
	dst = appendString(dst, r.MessageID)
	dst = appendString(dst, r.Tag)
	dst = binary.AppendUvarint(dst, uint64(len(r.Keys)))
	for _, k := range r.Keys {
		dst = appendString(dst, k)
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.Properties)))
	if len(r.Properties) > 0 {
		sortScratch = sortScratch[:0]
		for k := range r.Properties {
			sortScratch = append(sortScratch, k)
		}
		slices.Sort(sortScratch)
		for _, k := range sortScratch {
			dst = appendString(dst, k)
			dst = appendString(dst, r.Properties[k])
		}
		clear(sortScratch) // do not keep the caller's strings alive
	}
	dst = appendString(dst, r.MessageGroup)
	dst = appendString(dst, r.LiteTopic)
	dst = binary.AppendUvarint(dst, uint64(len(r.Body)))
	dst = append(dst, r.Body...)
	return dst, sortScratch
}

// reader decodes the primitive fields of the format from a byte slice. Every
// method checks bounds against the remaining input and rejects non-canonical
// (over-long) varints, so one value has exactly one encoding.
type reader struct {
	buf []byte
	pos int
}

// remaining returns the number of unread bytes.
func (r *reader) remaining() int {
	return len(r.buf) - r.pos
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, errTruncated
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n == 0 {
		return 0, errTruncated
	}
	if n < 0 {
		return 0, errors.New("varint overflows 64 bits")
	}
	if n > 1 && r.buf[r.pos+n-1] == 0 {
		return 0, errors.New("over-long varint")
	}
	r.pos += n
	return v, nil
}

func (r *reader) varint() (int64, error) {
	ux, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, nil
}

// count reads a uvarint element count and checks that count elements of at
// least minSize bytes each fit in the remaining input.
func (r *reader) count(minSize int) (int, error) {
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, fmt.Errorf("count %d exceeds remaining %d bytes", n, r.remaining())
	}
	return int(n), nil
}

// bytes reads a length-prefixed byte string and returns it without copying.
func (r *reader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(r.remaining()) {
		return nil, fmt.Errorf("length %d exceeds remaining %d bytes", n, r.remaining())
	}
	b := r.buf[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *reader) string() (string, error) {
	b, err := r.bytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeRecords decodes exactly count records that fill raw completely.
// Bodies of the returned records share raw's memory (each capped so that
// appending to one cannot overwrite another).
func decodeRecords(raw []byte, count int) ([]Record, error) {
	if count < 1 {
		return nil, corruptf("record count %d", count)
	}
	if count > len(raw)/minRecordSize {
		return nil, corruptf("record count %d too large for %d bytes", count, len(raw))
	}
	recs := make([]Record, count)
	rd := reader{buf: raw}
	for i := range recs {
		if err := decodeRecord(&rd, &recs[i]); err != nil {
			return nil, corruptf("record %d of %d: %v", i, count, err)
		}
	}
	if rd.remaining() != 0 {
		return nil, corruptf("%d bytes after the last record", rd.remaining())
	}
	return recs, nil
}

// decodeRecord decodes one record into rec.
func decodeRecord(rd *reader, rec *Record) error {
	presence, err := rd.byte()
	if err != nil {
		return err
	}
	if presence&^presenceMask != 0 {
		return fmt.Errorf("unknown presence bits %#x", presence)
	}
	flags, err := rd.uvarint()
	if err != nil {
		return err
	}
	if flags > math.MaxUint32 {
		return fmt.Errorf("flags %d overflow uint32", flags)
	}
	rec.Flags = uint32(flags)
	if presence&hasBornTime != 0 {
		if rec.BornTime, err = readTime(rd); err != nil {
			return err
		}
	}
	if presence&hasStoreTime != 0 {
		if rec.StoreTime, err = readTime(rd); err != nil {
			return err
		}
	}
	if presence&hasDeliveryTime != 0 {
		if rec.DeliveryTime, err = readTime(rd); err != nil {
			return err
		}
	}
	if rec.MessageID, err = rd.string(); err != nil {
		return err
	}
	if rec.Tag, err = rd.string(); err != nil {
		return err
	}
	nkeys, err := rd.count(1)
	if err != nil {
		return err
	}
	if nkeys > 0 {
		rec.Keys = make([]string, nkeys)
		for i := range rec.Keys {
			if rec.Keys[i], err = rd.string(); err != nil {
				return err
			}
		}
	}
	nprops, err := rd.count(2)
	if err != nil {
		return err
	}
	if nprops > 0 {
		rec.Properties = make(map[string]string, nprops)
		var prev []byte
		for i := 0; i < nprops; i++ {
			k, err := rd.bytes()
			if err != nil {
				return err
			}
			if i > 0 && bytes.Compare(prev, k) >= 0 {
				return errors.New("property keys not strictly increasing")
			}
			prev = k
			v, err := rd.string()
			if err != nil {
				return err
			}
			rec.Properties[string(k)] = v
		}
	}
	if rec.MessageGroup, err = rd.string(); err != nil {
		return err
	}
	if rec.LiteTopic, err = rd.string(); err != nil {
		return err
	}
	body, err := rd.bytes()
	if err != nil {
		return err
	}
	if len(body) > 0 {
		rec.Body = body
	}
	return nil
}

// readTime reads a present time. The zero time's milliseconds are rejected:
// the encoder writes such a time as absent.
func readTime(rd *reader) (time.Time, error) {
	ms, err := rd.varint()
	if err != nil {
		return time.Time{}, err
	}
	if ms == zeroUnixMilli {
		return time.Time{}, errors.New("present time is the zero time")
	}
	return milliToTime(ms), nil
}
