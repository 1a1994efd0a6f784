package jsonwire

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "TagA", "order-1", "h.abc_DEF-1", "%DLQ%g", "a b/c'",
		"<b>&amp;</b>", `Tag "A"`, `back\slash`, "\x00\x01\x1f\t\n\r\b\f\x7f",
		"ключ", "é", "a\u2028b\u2029", "🙂", "\xff\xfe invalid", "\xc3", "\xed\xa0\x80",
	} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(AppendString(nil, s)), "%q", s)
		require.Equal(t, "x"+string(want), string(AppendString([]byte("x"), s)), "appends to %q", s)
	}
}

func TestAppendTimeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 24, 10, 11, 12, 123456789, time.UTC)
	for _, tm := range []time.Time{
		at, at.Truncate(time.Second), at.Truncate(time.Millisecond),
		at.In(time.FixedZone("X", 3600)), at.In(time.FixedZone("", -(9*3600 + 30*60))),
		{}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		want, err := json.Marshal(tm)
		require.NoError(t, err)
		got, err := AppendTime([]byte("x"), tm)
		require.NoError(t, err)
		require.Equal(t, "x"+string(want), string(got), "%v", tm)
	}
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		_, want := json.Marshal(tm)
		require.Error(t, want, "%v", tm)
		_, err := AppendTime(nil, tm)
		require.Error(t, err, "a year outside 0-9999 fails, as in encoding/json: %v", tm)
	}
}

func TestAppendArray(t *testing.T) {
	num := func(b []byte, x *int) ([]byte, error) {
		if *x < 0 {
			return nil, errors.New("negative")
		}
		return strconv.AppendInt(b, int64(*x), 10), nil
	}
	for _, xs := range [][]int{nil, {}, {1}, {1, 2, 3}} {
		got, err := AppendArray([]byte("x="), xs, num)
		require.NoError(t, err)
		want, err := json.Marshal(xs)
		require.NoError(t, err)
		require.Equal(t, "x="+string(want), string(got))
	}
	_, err := AppendArray(nil, []int{1, -1}, num)
	require.Error(t, err)
}
