// Package sealed writes and checks the tokens a server hands to clients and takes back
// (receipt handles, recall handles): a payload followed by a MAC, the first 16 bytes of
// HMAC-SHA256(key, name₁ 0x00 name₂ 0x00 … payload), as unpadded base64url. The names bind
// a token to what it was issued for (a group and topic, say): presented for others, it
// does not open.
package sealed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
	"sync"
)

// MACLen is the length of a token's MAC in bytes.
const MACLen = 16

// encoding writes and reads tokens; decoding is strict (zero trailing bits), so a token
// opens only as it was written.
var encoding = base64.RawURLEncoding.Strict()

// Sealer seals and opens tokens with one secret key. It is safe for concurrent use.
type Sealer struct {
	key []byte
	// macs holds *macState values: keyed HMAC states (Reset returns one to its keyed
	// start without hashing the key again: two SHA-256 blocks per token, a third of the
	// work) with the scratch space a MAC needs, so that computing one allocates nothing.
	macs sync.Pool
}

// macState is a keyed HMAC and its scratch buffers.
type macState struct {
	h   hash.Hash
	in  []byte // names and payload, written in one call
	sum []byte
}

// New returns a sealer over key (at least 16 bytes).
func New(key []byte) (*Sealer, error) {
	if len(key) < 16 {
		return nil, errors.New("sealing key must be at least 16 bytes")
	}
	s := &Sealer{key: append([]byte(nil), key...)}
	s.macs.New = func() any {
		return &macState{h: hmac.New(sha256.New, s.key), in: make([]byte, 0, 256), sum: make([]byte, 0, sha256.Size)}
	}
	return s, nil
}

// appendMAC appends the MAC of payload bound to names: HMAC-SHA256 over each name and a
// NUL byte, then the payload, cut to MACLen bytes.
func (s *Sealer) appendMAC(dst, payload []byte, names []string) []byte {
	st := s.macs.Get().(*macState)
	defer s.macs.Put(st)
	in := st.in[:0]
	for _, n := range names {
		in = append(in, n...)
		in = append(in, 0)
	}
	in = append(in, payload...)
	st.in = in
	st.h.Reset()
	st.h.Write(in)
	st.sum = st.h.Sum(st.sum[:0])
	return append(dst, st.sum[:MACLen]...)
}

// Seal returns the token of payload bound to names.
func (s *Sealer) Seal(payload []byte, names ...string) string {
	return encoding.EncodeToString(s.appendMAC(payload, payload, names))
}

// Open checks a token of at most maxLen characters against names and returns its payload,
// or false for anything this sealer did not seal for those names: other spellings of the
// same bytes (non-zero trailing bits, line breaks) included.
func (s *Sealer) Open(token string, maxLen int, names ...string) ([]byte, bool) {
	if len(token) == 0 || len(token) > maxLen || strings.ContainsAny(token, "\r\n") {
		return nil, false
	}
	b, err := encoding.DecodeString(token)
	if err != nil || len(b) <= MACLen {
		return nil, false
	}
	payload, mac := b[:len(b)-MACLen], b[len(b)-MACLen:]
	var want [MACLen]byte
	if !hmac.Equal(mac, s.appendMAC(want[:0], payload, names)) {
		return nil, false
	}
	return payload, true
}
