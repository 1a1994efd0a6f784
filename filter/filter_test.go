package filter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTagFilters(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		ok      bool
		stored  string
		matches []string
		misses  []string
	}{
		{"*", true, "*", []string{"A", ""}, nil},
		{"", true, "*", []string{"A", ""}, nil},
		{"TagA", true, "TagA", []string{"TagA"}, []string{"TagB", ""}},
		{"TagA || TagB", true, "TagA || TagB", []string{"TagA", "TagB"}, []string{"TagC", ""}},
		{" TagA||TagB ", true, "TagA||TagB", []string{"TagA", "TagB"}, nil},
		{"TagA ||", false, "", nil, nil},
		{"Tag A", false, "", nil, nil},
		{"TagA && TagB", false, "", nil, nil},
	} {
		for _, typ := range []string{"", Tag, "tag"} {
			f, stored, err := Parse(typ, tc.expr)
			if !tc.ok {
				require.Error(t, err, tc.expr)
				continue
			}
			require.NoError(t, err, tc.expr)
			require.Equal(t, tc.stored, stored)
			for _, m := range tc.matches {
				require.True(t, f.Match(m, nil), "%q should match %q", tc.expr, m)
			}
			for _, m := range tc.misses {
				require.False(t, f.Match(m, nil), "%q should not match %q", tc.expr, m)
			}
		}
	}
}

func TestSQL92Filters(t *testing.T) {
	f, stored, err := Parse(SQL92, "  region = 'eu' AND amount > 100 ")
	require.NoError(t, err)
	require.NotEmpty(t, stored)
	again, _, err := Parse(SQL92, stored)
	require.NoError(t, err, "the stored form parses again")
	for _, g := range []Filter{f, again} {
		require.True(t, g.Match("", map[string]string{"region": "eu", "amount": "150"}))
		require.False(t, g.Match("", map[string]string{"region": "eu", "amount": "50"}))
		require.False(t, g.Match("", map[string]string{"region": "us", "amount": "150"}))
		require.False(t, g.Match("", map[string]string{"region": "eu"}), "an absent property matches no comparison")
		require.False(t, g.Match("", nil))
	}

	byTag, _, err := Parse(SQL92, "TAGS = 'TagA' OR TAGS IS NULL")
	require.NoError(t, err)
	require.True(t, byTag.Match("TagA", nil), "the tag is the property TAGS")
	require.True(t, byTag.Match("", nil), "a message without a tag has no TAGS")
	require.False(t, byTag.Match("TagB", map[string]string{"TAGS": "TagA"}), "the message's tag wins over a property of that name")

	for _, bad := range []string{"", "   ", "amount >", "region = 'eu", "a = 1 AND", "((a = 1)", "a = '\x00'", "a = '\xff'"} {
		_, _, err := Parse(SQL92, bad)
		require.Error(t, err, "%q", bad)
	}
	_, _, err = Parse("JSONPATH", "$.a")
	require.ErrorContains(t, err, "TAG or SQL92")
}

func BenchmarkMatchSQL92(b *testing.B) {
	f, _, err := Parse(SQL92, "a > 5 AND region IN ('eu', 'us') AND TAGS = 'TagA'")
	if err != nil {
		b.Fatal(err)
	}
	props := map[string]string{"a": "7", "region": "us"}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match("TagA", props) {
			b.Fatal("no match")
		}
	}
}
