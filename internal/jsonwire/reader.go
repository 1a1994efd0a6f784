// Package jsonwire reads and writes the JSON of Floe's HTTP API without reflection, with
// results byte for byte or value for value those of encoding/json. The server decodes
// send requests with it and the Go client the answers of send, receive and ack: those
// bodies are mostly base64, and encoding/json, scanning each one more than once, was a
// large part of both sides' CPU.
//
// A Reader takes a plain subset of JSON, the one the server and the client write:
//
//   - whitespace anywhere JSON allows it;
//   - strings without escapes or control bytes, in valid UTF-8 (encoding/json keeps such a
//     string's bytes as they are, where it would unescape the others or replace invalid
//     UTF-8 with U+FFFD);
//   - integers without fraction or exponent, of at most 18 digits;
//   - objects of known member names, each spelled exactly and given at most once
//     (encoding/json folds case and merges repeated members); a member whose value is
//     null is skipped, which is what encoding/json does to the zero value the callers
//     decode into.
//
// Every method returns false on input outside that subset, valid JSON or not, and the
// caller then decodes the whole input again with encoding/json, which also writes every
// error message. What a Reader returns with true is what encoding/json returns for the
// same bytes; the fuzz tests of the callers (FuzzDecodeSendRequest in httpapi,
// FuzzDecodeReceiveResponse and its siblings in client) check it.
//
// This package imports only the standard library: the client and the server both use it.
package jsonwire

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/floemq/floe/internal/b64"
)

// Reader reads one JSON document from a byte slice, a token at a time. Every method skips
// the whitespace before its token. After a false, the Reader's position is unspecified:
// the caller gives up on the document.
type Reader struct {
	b []byte
	i int // next byte to read
}

// NewReader returns a Reader of the document b.
func NewReader(b []byte) *Reader {
	return &Reader{b: b}
}

// End reports whether only whitespace is left: true at the end of a document of exactly
// one value.
func (r *Reader) End() bool {
	r.space()
	return r.i == len(r.b)
}

// RawString reads a string and returns its bytes, which are its value; they point into
// the document. A string with an escape, a control byte or invalid UTF-8 is refused.
func (r *Reader) RawString() ([]byte, bool) {
	if !r.take('"') {
		return nil, false
	}
	start := r.i
	ascii := true
	for ; r.i < len(r.b); r.i++ {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// String reads a string as RawString does and returns a copy. When the string equals
// prev, prev itself is returned, which saves an allocation for a value repeated in every
// message of a batch (a topic, a tag, a status).
func (r *Reader) String(prev string) (string, bool) {
	s, ok := r.RawString()
	if !ok {
		return "", false
	}
	if string(s) == prev {
		return prev, true
	}
	return string(s), true
}

// Base64 reads a string of standard base64 and decodes it, as encoding/json decodes a
// []byte: an empty string gives an empty, non-nil slice. The result does not point into
// the document.
func (r *Reader) Base64() ([]byte, bool) {
	if !r.take('"') {
		return nil, false
	}
	// A body is most of a message: find its end with IndexByte rather than a loop. The
	// decoder refuses every byte outside the alphabet and padding, which covers an escape
	// (its backslash), a control and a non-ASCII byte, but it skips '\r' and '\n', which
	// encoding/json refuses inside a string.
	n := bytes.IndexByte(r.b[r.i:], '"')
	if n < 0 {
		return nil, false
	}
	s := r.b[r.i : r.i+n]
	r.i += n + 1
	if bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// Int64 reads an integer of at most 18 digits, so that it cannot overflow, without
// fraction or exponent.
func (r *Reader) Int64() (int64, bool) {
	r.space()
	neg := r.i < len(r.b) && r.b[r.i] == '-'
	if neg {
		r.i++
	}
	start := r.i
	var n int64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		n = n*10 + int64(r.b[r.i]-'0')
		r.i++
	}
	digits := r.i - start
	if digits == 0 || digits > 18 || (digits > 1 && r.b[start] == '0') {
		return 0, false
	}
	if r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// Int reads an integer as Int64 does, refusing one that does not fit an int.
func (r *Reader) Int() (int, bool) {
	n, ok := r.Int64()
	if !ok || int64(int(n)) != n {
		return 0, false
	}
	return int(n), true
}

// Time reads a string into t as encoding/json does: it hands the literal, quotes
// included, to time.Time.UnmarshalJSON. The string must be one RawString takes.
func (r *Reader) Time(t *time.Time) bool {
	r.space()
	start := r.i
	if _, ok := r.RawString(); !ok {
		return false
	}
	return t.UnmarshalJSON(r.b[start:r.i]) == nil
}

// Strings reads an array of strings. An empty array gives an empty, non-nil slice, as
// in encoding/json.
func (r *Reader) Strings() ([]string, bool) {
	out := []string{}
	ok := r.Array(func() bool {
		s, ok := r.String("")
		if ok {
			out = append(out, s)
		}
		return ok
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// StringMap reads an object of strings. An empty object gives an empty, non-nil map; a
// name given twice keeps its last value, as in encoding/json.
func (r *Reader) StringMap() (map[string]string, bool) {
	if !r.take('{') {
		return nil, false
	}
	out := map[string]string{}
	for n := 0; ; n++ {
		more, ok := r.next('}', n)
		if !ok {
			return nil, false
		}
		if !more {
			return out, true
		}
		k, ok := r.key()
		if !ok {
			return nil, false
		}
		v, ok := r.String("")
		if !ok {
			return nil, false
		}
		out[string(k)] = v
	}
}

// Array reads an array, calling elem to read each element; a false from elem fails.
// The caller makes its slice non-nil before: an empty array is an empty slice to
// encoding/json, not a nil one.
func (r *Reader) Array(elem func() bool) bool {
	if !r.take('[') {
		return false
	}
	for n := 0; ; n++ {
		more, ok := r.next(']', n)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if !elem() {
			return false
		}
	}
}

// Object reads an object, calling member for each member with the index of its name in
// names, to read the value that comes next. A name outside names (or past its first 64),
// one given twice, or a false from member fails. A member whose value is null is skipped
// without a call: decoding into a zero struct, encoding/json leaves its field zero.
func (r *Reader) Object(names []string, member func(i int) bool) bool {
	if !r.take('{') {
		return false
	}
	var seen uint64
	for n := 0; ; n++ {
		more, ok := r.next('}', n)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		k, ok := r.key()
		if !ok {
			return false
		}
		i := index(names, k)
		if i < 0 || i >= 64 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		if r.null() {
			continue
		}
		if !member(i) {
			return false
		}
	}
}

// index returns the index of name in names, or -1.
func index(names []string, name []byte) int {
	for i, n := range names {
		if n == string(name) {
			return i
		}
	}
	return -1
}

// space moves past JSON whitespace.
func (r *Reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// take reads byte c, after whitespace.
func (r *Reader) take(c byte) bool {
	r.space()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// null reads a null literal if one comes next.
func (r *Reader) null() bool {
	r.space()
	if bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// next is called before each element of an object or array whose opening byte was read,
// n being the elements read so far. It returns true when an element follows (after its
// comma), false once the closing byte is read.
func (r *Reader) next(closing byte, n int) (more, ok bool) {
	r.space()
	if r.i == len(r.b) {
		return false, false
	}
	if r.b[r.i] == closing {
		r.i++
		return false, true
	}
	if n == 0 {
		return true, true
	}
	if r.b[r.i] != ',' {
		return false, false
	}
	r.i++
	return true, true
}

// key reads an object member's name and the colon after it.
func (r *Reader) key() ([]byte, bool) {
	k, ok := r.RawString()
	return k, ok && r.take(':')
}
