package bloom

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// A chunk of trace-like messages, each keyed by many ids, gets a filter sized for every
// key: one sized by the message count alone would be all ones, and every lookup would
// read the chunk.
func TestOfChunkIsSizedForEveryItem(t *testing.T) {
	type message struct {
		id   string
		keys []string
	}
	var msgs []message
	for i := range 4 {
		m := message{id: fmt.Sprintf("trace-%d", i)}
		for k := range 500 {
			m.keys = append(m.keys, fmt.Sprintf("id-%d-%d", i, k))
		}
		msgs = append(msgs, m)
	}
	msgs = append(msgs, message{id: "plain"})
	b := OfChunk(len(msgs), func(i int) (string, []string) { return msgs[i].id, msgs[i].keys })
	require.Len(t, b, (4*501+1)*BitsPerItem/8+1)
	f := FromBytes(b)
	for _, m := range msgs {
		require.True(t, f.MayContain(IDItem(m.id)))
		for _, k := range m.keys {
			require.True(t, f.MayContain(KeyItem(k)))
		}
	}
	falsePositives := 0
	for i := range 10000 {
		if f.MayContain(KeyItem(fmt.Sprintf("absent-%d", i))) {
			falsePositives++
		}
	}
	require.Less(t, falsePositives, 300, "about 0.8%% of lookups of absent keys may match, not all")
}
