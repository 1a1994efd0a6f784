package jsonwire

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// tokenCase is an input to a Reader method: accepted, with the value read and what is
// left after the token, or refused.
type tokenCase[T any] struct {
	in   string
	ok   bool
	want T
	rest string
}

// accept and refuse build the cases of a table.
func accept[T any](in string, want T, rest string) tokenCase[T] {
	return tokenCase[T]{in: in, ok: true, want: want, rest: rest}
}

func refuse[T any](in string) tokenCase[T] { return tokenCase[T]{in: in} }

// checkMethod runs read on each case. With sameAsJSON, every accepted token must also be
// what encoding/json decodes into a T from the same bytes.
func checkMethod[T any](t *testing.T, read func(*Reader) (T, bool), sameAsJSON bool, cases []tokenCase[T]) {
	t.Helper()
	for _, tc := range cases {
		r := NewReader([]byte(tc.in))
		got, ok := read(r)
		require.Equal(t, tc.ok, ok, "accepted %q", tc.in)
		if !tc.ok {
			continue
		}
		// DeepEqual tells a nil slice or map from an empty one, as the callers must.
		require.True(t, reflect.DeepEqual(tc.want, got), "%q: got %#v, want %#v", tc.in, got, tc.want)
		require.Equal(t, tc.rest, string(r.b[r.i:]), "left after %q", tc.in)
		if sameAsJSON {
			var want T
			token := tc.in[:len(tc.in)-len(tc.rest)]
			require.NoError(t, json.Unmarshal([]byte(token), &want), "encoding/json on %q", token)
			require.True(t, reflect.DeepEqual(want, got), "%q: got %#v, encoding/json %#v", token, got, want)
		}
	}
}

func TestEnd(t *testing.T) {
	t.Parallel()
	checkMethod(t, func(r *Reader) (struct{}, bool) { return struct{}{}, r.End() }, false, []tokenCase[struct{}]{
		accept("", struct{}{}, ""),
		accept(" \t\r\n", struct{}{}, ""),
		refuse[struct{}]("x"),
		refuse[struct{}](" {}"),
		refuse[struct{}]("\x00"),
		refuse[struct{}]("\v"),         // not JSON whitespace
		refuse[struct{}]("\u00a0"),     // nor this
		refuse[struct{}]("\ufeff"),     // nor a byte order mark
		refuse[struct{}](`{"a":1} {}`), // a second value
	})
}

func TestRawString(t *testing.T) {
	t.Parallel()
	raw := func(r *Reader) (string, bool) {
		s, ok := r.RawString()
		return string(s), ok
	}
	checkMethod(t, raw, true, []tokenCase[string]{
		accept(`""`, "", ""),
		accept(`"abc"`, "abc", ""),
		accept(" \t\r\n\"a b\" ", "a b", " "),
		accept(`"a":1`, "a", ":1"),
		accept(`"<&>'/"`, "<&>'/", ""),
		accept("\"\x7f\"", "\x7f", ""),
		accept(`"ключ é 🙂"`, "ключ é 🙂", ""),
		accept("\"a\u2028b\u2029\"", "a\u2028b\u2029", ""),
		accept("\"\xef\xbf\xbd\"", "\ufffd", ""), // U+FFFD itself, well encoded
		refuse[string](""),
		refuse[string](" "),
		refuse[string]("abc"),
		refuse[string]("null"),
		refuse[string]("'a'"),
		refuse[string](`"abc`),
		refuse[string](`"a\"b"`),           // an escape, which also hides a quote
		refuse[string](`"a\u0062"`),        // an escape
		refuse[string](`"a\\b"`),           // an escape
		refuse[string]("\"a\tb\""),         // a control byte, invalid JSON
		refuse[string]("\"a\x00\""),        // the same
		refuse[string]("\"a\x1f\""),        // the same
		refuse[string]("\"\xff\""),         // invalid UTF-8, which encoding/json replaces
		refuse[string]("\"\xc3\""),         // a truncated sequence
		refuse[string]("\"\xc0\x80\""),     // an overlong encoding
		refuse[string]("\"\xed\xa0\x80\""), // a surrogate
	})
}

func TestString(t *testing.T) {
	t.Parallel()
	str := func(r *Reader) (string, bool) { return r.String("") }
	checkMethod(t, str, true, []tokenCase[string]{
		accept(`"TagA"`, "TagA", ""),
		accept(` "ключ",`, "ключ", ","),
		refuse[string](`"a\nb"`),
		refuse[string]("\"\xff\""),
		refuse[string](`1`),
	})

	// The string is a copy: the document can change under it.
	doc := []byte(`"topic"`)
	s, ok := NewReader(doc).String("")
	require.True(t, ok)
	doc[1] = 'X'
	require.Equal(t, "topic", s)

	// A string equal to prev is prev itself, not a new copy.
	prev := strings.Clone("orders")
	s, ok = NewReader([]byte(`"orders"`)).String(prev)
	require.True(t, ok)
	require.Equal(t, unsafe.StringData(prev), unsafe.StringData(s))
	s, ok = NewReader([]byte(`"other"`)).String(prev)
	require.True(t, ok)
	require.Equal(t, "other", s)
}

func TestBase64(t *testing.T) {
	t.Parallel()
	checkMethod(t, (*Reader).Base64, true, []tokenCase[[]byte]{
		accept(`""`, []byte{}, ""), // empty, not nil
		accept(`"aGk="`, []byte("hi"), ""),
		accept(`"YWJj"`, []byte("abc"), ""),
		accept(` "YQ==" ,`, []byte("a"), " ,"),
		accept(`"AAEC+v8="`, []byte{0, 1, 2, 0xfa, 0xff}, ""),
		accept(`"YR=="`, []byte("a"), ""), // trailing bits set: not strict, as encoding/json
		refuse[[]byte](``),
		refuse[[]byte](`null`),
		refuse[[]byte](`1`),
		refuse[[]byte](`"YQ==`),
		refuse[[]byte](`"YQ"`),       // missing padding
		refuse[[]byte](`"YQ="`),      // short padding
		refuse[[]byte](`"YQ==YQ=="`), // data after the padding
		refuse[[]byte](`"***"`),
		refuse[[]byte](`"a-_b"`),         // the URL alphabet
		refuse[[]byte](`"a\/8="`),        // an escape, which encoding/json would unescape first
		refuse[[]byte]("\"YW\nJj\""),     // the decoder skips newlines; JSON strings cannot hold them
		refuse[[]byte]("\"YW\r\nJj\""),   // the same
		refuse[[]byte]("\"YW\xc3\xa9\""), // non-ASCII
	})
}

func TestInt64(t *testing.T) {
	t.Parallel()
	checkMethod(t, (*Reader).Int64, true, []tokenCase[int64]{
		accept(`0`, int64(0), ""),
		accept(`-0`, int64(0), ""),
		accept(`17`, int64(17), ""),
		accept(` -123,`, int64(-123), ","),
		accept(`42}`, int64(42), "}"),
		accept(`999999999999999999`, int64(999999999999999999), ""),
		accept(`-999999999999999999`, int64(-999999999999999999), ""),
		refuse[int64](``),
		refuse[int64](`-`),
		refuse[int64](`- 1`),
		refuse[int64](`+1`),
		refuse[int64](`01`),
		refuse[int64](`-01`),
		refuse[int64](`00`),
		refuse[int64](`1.0`),
		refuse[int64](`1e3`),
		refuse[int64](`1E3`),
		refuse[int64](`1000000000000000000`), // 19 digits: might overflow, left to encoding/json
		refuse[int64](`"1"`),
		refuse[int64](`null`),
	})
}

func TestInt(t *testing.T) {
	t.Parallel()
	checkMethod(t, (*Reader).Int, true, []tokenCase[int]{
		accept(`7`, 7, ""),
		accept(` -3 ]`, -3, " ]"),
		refuse[int](`1.5`),
		refuse[int](`1e2`),
		refuse[int](`true`),
	})
}

func TestTime(t *testing.T) {
	t.Parallel()
	readTime := func(r *Reader) (time.Time, bool) {
		var t time.Time
		ok := r.Time(&t)
		return t, ok
	}
	due := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	checkMethod(t, readTime, true, []tokenCase[time.Time]{
		accept(`"2026-03-01T12:00:00.5Z"`, due, ""),
		accept(` "2026-03-01T13:00:00.5+01:00",`, due.In(time.FixedZone("", 3600)), ","),
		accept(`"0001-01-01T00:00:00Z"`, time.Time{}, ""),
		// What UnmarshalJSON takes, the Reader takes, however odd.
		accept(`"2026-03-01T12:00:00+24:00"`, time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("", 24*3600)), ""),
		refuse[time.Time](`null`), // a no-op for UnmarshalJSON, a nil pointer for encoding/json
		refuse[time.Time](`"yesterday"`),
		refuse[time.Time](`"2026-03-01 12:00:00Z"`),
		refuse[time.Time](`"2026-03-01T24:00:00Z"`),
		refuse[time.Time](`"2026-03-01T12:00:00\u005a"`), // an escape
		refuse[time.Time](`"2026-03-01T12:00:00Z`),
		refuse[time.Time](`1`),
	})
}

func TestStrings(t *testing.T) {
	t.Parallel()
	checkMethod(t, (*Reader).Strings, true, []tokenCase[[]string]{
		accept(`[]`, []string{}, ""), // empty, not nil
		accept(`["a"]`, []string{"a"}, ""),
		accept(" [ \"a\" ,\n\"b\" ] ,", []string{"a", "b"}, " ,"),
		accept(`["ключ",""]`, []string{"ключ", ""}, ""),
		refuse[[]string](``),
		refuse[[]string](`null`),
		refuse[[]string](`{}`),
		refuse[[]string](`[`),
		refuse[[]string](`["a"`),
		refuse[[]string](`["a",]`),
		refuse[[]string](`[,"a"]`),
		refuse[[]string](`["a" "b"]`),
		refuse[[]string](`[null]`),
		refuse[[]string](`[1]`),
		refuse[[]string](`["a\"b"]`),
	})
}

func TestStringMap(t *testing.T) {
	t.Parallel()
	checkMethod(t, (*Reader).StringMap, true, []tokenCase[map[string]string]{
		accept(`{}`, map[string]string{}, ""), // empty, not nil
		accept(`{"a":"1"}`, map[string]string{"a": "1"}, ""),
		accept(" { \"a\" : \"\" ,\n\"é\":\"x\" } }", map[string]string{"a": "", "é": "x"}, " }"),
		accept(`{"a":"1","a":"2"}`, map[string]string{"a": "2"}, ""), // the last one, as encoding/json
		refuse[map[string]string](``),
		refuse[map[string]string](`null`),
		refuse[map[string]string](`[]`),
		refuse[map[string]string](`{`),
		refuse[map[string]string](`{"a"}`),
		refuse[map[string]string](`{"a":}`),
		refuse[map[string]string](`{"a":1}`),
		refuse[map[string]string](`{"a":null}`),
		refuse[map[string]string](`{"a":"1",}`),
		refuse[map[string]string](`{,"a":"1"}`),
		refuse[map[string]string](`{"a":"1" "b":"2"}`),
		refuse[map[string]string](`{"a\u0062":"1"}`),
		refuse[map[string]string](`{a:"1"}`),
	})
}

func TestArray(t *testing.T) {
	t.Parallel()
	ints := func(r *Reader) ([]int, bool) {
		out := []int{}
		ok := r.Array(func() bool {
			n, ok := r.Int()
			out = append(out, n)
			return ok
		})
		return out, ok
	}
	checkMethod(t, ints, true, []tokenCase[[]int]{
		accept(`[]`, []int{}, ""),
		accept(`[1]`, []int{1}, ""),
		accept(" [ 1 ,\t2 , 3 ] ]", []int{1, 2, 3}, " ]"),
		refuse[[]int](``),
		refuse[[]int](`]`),
		refuse[[]int](`null`),
		refuse[[]int](`{}`),
		refuse[[]int](`[`),
		refuse[[]int](`[1`),
		refuse[[]int](`[1,`),
		refuse[[]int](`[1,]`),
		refuse[[]int](`[,1]`),
		refuse[[]int](`[1 2]`),
		refuse[[]int](`[1;2]`),
		refuse[[]int](`["a"]`), // elem refuses
	})
}

func TestObject(t *testing.T) {
	t.Parallel()
	type ab struct{ A, B int }
	names := []string{"a", "b"}
	object := func(r *Reader) (ab, bool) {
		var v ab
		ok := r.Object(names, func(i int) bool {
			var ok bool
			switch names[i] {
			case "a":
				v.A, ok = r.Int()
			case "b":
				v.B, ok = r.Int()
			}
			return ok
		})
		return v, ok
	}
	checkMethod(t, object, false, []tokenCase[ab]{
		accept(`{}`, ab{}, ""),
		accept(`{"a":1}`, ab{A: 1}, ""),
		accept(`{"b":2,"a":1}`, ab{A: 1, B: 2}, ""),
		accept(" { \"a\" : 1 ,\n\"b\" : null } ,", ab{A: 1}, " ,"), // null: skipped
		refuse[ab](``),
		refuse[ab](`null`),
		refuse[ab](`[]`),
		refuse[ab](`{`),
		refuse[ab](`{"a":1`),
		refuse[ab](`{"c":1}`),          // unknown
		refuse[ab](`{"A":1}`),          // encoding/json folds case
		refuse[ab](`{"a\u0062":1}`),    // an escaped name
		refuse[ab](`{"a":1,"a":2}`),    // encoding/json merges repeats
		refuse[ab](`{"a":null,"a":1}`), // even after a null
		refuse[ab](`{"a":1,}`),         //
		refuse[ab](`{,"a":1}`),         //
		refuse[ab](`{"a" 1}`),          //
		refuse[ab](`{"a":1 "b":2}`),    //
		refuse[ab](`{"a":"x"}`),        // member refuses
		refuse[ab](`{"a":nul}`),        //
		refuse[ab](`{a:1}`),            //
	})

	// Past 64 names, the bit that tells a name already given is missing: refused.
	many := make([]string, 65)
	for i := range many {
		many[i] = "n" + strconv.Itoa(i)
	}
	member := func(r *Reader) func(int) bool {
		return func(int) bool { _, ok := r.Int(); return ok }
	}
	r := NewReader([]byte(`{"n63":0}`))
	require.True(t, r.Object(many, member(r)))
	r = NewReader([]byte(`{"n64":0}`))
	require.False(t, r.Object(many, member(r)))
}

func TestTakeNullNextKey(t *testing.T) {
	t.Parallel()
	take := func(r *Reader) (struct{}, bool) { return struct{}{}, r.take('{') }
	checkMethod(t, take, false, []tokenCase[struct{}]{
		accept(`{`, struct{}{}, ""),
		accept(" \n{}", struct{}{}, "}"),
		refuse[struct{}](``),
		refuse[struct{}](`[`),
		refuse[struct{}](`x{`),
	})

	null := func(r *Reader) (struct{}, bool) { return struct{}{}, r.null() }
	checkMethod(t, null, false, []tokenCase[struct{}]{
		accept(`null`, struct{}{}, ""),
		accept(` null,`, struct{}{}, ","),
		refuse[struct{}](`nul`),
		refuse[struct{}](`Null`),
		refuse[struct{}](`"null"`),
	})

	type step struct{ more bool }
	next := func(n int) func(*Reader) (step, bool) {
		return func(r *Reader) (step, bool) {
			more, ok := r.next(']', n)
			return step{more}, ok
		}
	}
	checkMethod(t, next(0), false, []tokenCase[step]{
		accept(`]`, step{false}, ""),
		accept(` 1]`, step{true}, "1]"), // the first element: no comma
		accept(`,`, step{true}, ","),    // the element refuses it
		refuse[step](``),
		refuse[step](` `),
	})
	checkMethod(t, next(1), false, []tokenCase[step]{
		accept(` ]`, step{false}, ""),
		accept(` , 2]`, step{true}, " 2]"),
		refuse[step](``),
		refuse[step](`2]`),
		refuse[step](`}`),
	})

	key := func(r *Reader) (string, bool) {
		k, ok := r.key()
		return string(k), ok
	}
	checkMethod(t, key, false, []tokenCase[string]{
		accept(`"a":1`, "a", "1"),
		accept(" \"b\" \n: \"x\"", "b", " \"x\""),
		refuse[string](`"a"`),
		refuse[string](`"a",`),
		refuse[string](`a:`),
		refuse[string](`"a\"":`),
	})
}
