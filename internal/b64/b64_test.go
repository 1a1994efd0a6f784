package b64

import (
	stdb64 "encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEncodeIsStdlibs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2100 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		want := stdb64.StdEncoding.EncodeToString(src)
		require.Equal(t, want, string(AppendEncode(nil, src)), "length %d", n)
		require.Equal(t, "x"+want, string(AppendEncode([]byte("x"), src)), "length %d, appended", n)
		got, err := DecodeString(want)
		require.NoError(t, err)
		require.Equal(t, src, got, "length %d", n)
	}
}

func TestRefusesWhatStdlibRefuses(t *testing.T) {
	good := stdb64.StdEncoding.EncodeToString(make([]byte, 300))
	for name, in := range map[string]string{
		"bad byte early":        "!" + good[1:],
		"bad byte late":         good[:250] + "*" + good[251:],
		"NUL":                   good[:100] + "\x00" + good[101:],
		"URL alphabet":          good[:120] + "-_" + good[122:],
		"short":                 good[:len(good)-1],
		"padding in the middle": good[:40] + "=" + good[41:],
	} {
		_, wantErr := stdb64.StdEncoding.DecodeString(in)
		require.Error(t, wantErr, name)
		_, err := DecodeString(in)
		require.Equal(t, wantErr, err, name)
	}
	// Line breaks are skipped, as encoding/base64 does.
	wrapped := good[:76] + "\r\n" + good[76:]
	got, err := DecodeString(wrapped)
	require.NoError(t, err)
	require.Equal(t, make([]byte, 300), got)
}

// FuzzDecode checks the fast decoder against encoding/base64 on any input: the same
// bytes when it accepts, the same error when it refuses.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("aGVsbG8="))
	f.Add([]byte(stdb64.StdEncoding.EncodeToString(make([]byte, 200))))
	f.Add([]byte("AAAA\nAAAA"))
	f.Add([]byte("AAA="))
	f.Add([]byte("AAB="))
	f.Fuzz(func(t *testing.T, in []byte) {
		want := make([]byte, DecodedLen(len(in)))
		wn, werr := stdb64.StdEncoding.Decode(want, in)
		got := make([]byte, DecodedLen(len(in)))
		n, err := Decode(got, in)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("input %q: error %v, encoding/base64 %v", in, err, werr)
		}
		if err == nil && string(got[:n]) != string(want[:wn]) {
			t.Fatalf("input %q: %x, encoding/base64 %x", in, got[:n], want[:wn])
		}
		if err == nil {
			if enc := AppendEncode(nil, got[:n]); string(enc) != stdb64.StdEncoding.EncodeToString(want[:wn]) {
				t.Fatalf("encoding of %x: %q", got[:n], enc)
			}
		}
	})
}

// BenchmarkCodecs compares this package with encoding/base64 on a 1 KiB body:
// go test -bench Codecs ./internal/b64/
func BenchmarkCodecs(b *testing.B) {
	src := make([]byte, 1024)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	enc := []byte(stdb64.StdEncoding.EncodeToString(src))
	dst := make([]byte, 0, len(enc))
	out := make([]byte, DecodedLen(len(enc)))
	b.Run("encode/encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = stdb64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
	b.Run("encode/b64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = AppendEncode(dst[:0], src)
		}
	})
	b.Run("decode/encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := stdb64.StdEncoding.Decode(out, enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/b64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := Decode(out, enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
