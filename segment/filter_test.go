package segment

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bloom"
)

// A chunk of trace-like messages, each keyed by many ids, gets a filter sized for every
// key: one sized by the message count alone would be all ones, and every lookup would
// read the chunk.
func TestFilterOfIsSizedForEveryItem(t *testing.T) {
	var recs []Record
	for i := range 4 {
		r := Record{MessageID: fmt.Sprintf("trace-%d", i)}
		for k := range 500 {
			r.Keys = append(r.Keys, fmt.Sprintf("id-%d-%d", i, k))
		}
		recs = append(recs, r)
	}
	recs = append(recs, Record{MessageID: "plain"})
	b := FilterOf(recs)
	require.Len(t, b, (4*501+1)*bloom.BitsPerItem/8+1)
	f := bloom.FromBytes(b)
	for _, r := range recs {
		require.True(t, f.MayContain(bloom.IDItem(r.MessageID)))
		for _, k := range r.Keys {
			require.True(t, f.MayContain(bloom.KeyItem(k)))
		}
	}
	falsePositives := 0
	for i := range 10000 {
		if f.MayContain(bloom.KeyItem(fmt.Sprintf("absent-%d", i))) {
			falsePositives++
		}
	}
	require.Less(t, falsePositives, 300, "about 0.8%% of lookups of absent keys may match, not all")
}
