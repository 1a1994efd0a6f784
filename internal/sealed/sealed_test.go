package sealed

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	s, err := New([]byte("0123456789abcdef"))
	require.NoError(t, err)
	_, err = New([]byte("short"))
	require.Error(t, err)

	tok := s.Seal([]byte("payload"), "group", "topic")
	got, ok := s.Open(tok, 100, "group", "topic")
	require.True(t, ok)
	require.Equal(t, "payload", string(got))

	for name, open := range map[string]func() bool{
		"other names":   func() bool { _, ok := s.Open(tok, 100, "group", "other"); return ok },
		"names shifted": func() bool { _, ok := s.Open(tok, 100, "grou", "ptopic"); return ok },
		"too long":      func() bool { _, ok := s.Open(tok, len(tok)-1, "group", "topic"); return ok },
		"empty":         func() bool { _, ok := s.Open("", 100, "group", "topic"); return ok },
		"line break":    func() bool { _, ok := s.Open(tok[:4]+"\n"+tok[4:], 100, "group", "topic"); return ok },
		"not base64":    func() bool { _, ok := s.Open("!!!!", 100, "group", "topic"); return ok },
		"only a MAC":    func() bool { _, ok := s.Open(s.Seal(nil, "group", "topic"), 100, "group", "topic"); return ok },
		"other key": func() bool {
			o, _ := New([]byte("fedcba9876543210"))
			_, ok := o.Open(tok, 100, "group", "topic")
			return ok
		},
		"trailing bits": func() bool {
			_, ok := s.Open(tok[:len(tok)-1]+flipLow(tok[len(tok)-1]), 100, "group", "topic")
			return ok
		},
	} {
		require.False(t, open(), name)
	}
	for i := range tok {
		altered := []byte(tok)
		altered[i] ^= 1
		_, ok := s.Open(string(altered), 100, "group", "topic")
		require.False(t, ok, "byte %d altered", i)
	}
}

// flipLow returns another base64url character that differs from c only in its lowest bit.
func flipLow(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		if alphabet[i] == c {
			return string(alphabet[i^1])
		}
	}
	return string(c)
}
