package bloom

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNoFalseNegativesAndFewFalsePositives(t *testing.T) {
	const n = 10000
	f := New(n)
	for i := 0; i < n; i++ {
		f.Add(KeyItem(fmt.Sprint("order-", i)))
	}
	for i := 0; i < n; i++ {
		require.True(t, f.MayContain(KeyItem(fmt.Sprint("order-", i))))
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.MayContain(KeyItem(fmt.Sprint("other-", i))) {
			fp++
		}
	}
	require.Less(t, fp, n*2/100, "false positive rate above 2%%")
	require.False(t, FromBytes(nil).MayContain("x"))
}

func TestOfMessageHoldsItsIDAndKeys(t *testing.T) {
	f := FromBytes(OfMessage("M1", []string{"order-1", "order-2"}))
	for _, item := range []string{IDItem("M1"), KeyItem("order-1"), KeyItem("order-2")} {
		if !f.MayContain(item) {
			t.Fatalf("the filter lacks %q", item)
		}
	}
	if f.MayContain(KeyItem("M1")) && f.MayContain(IDItem("order-1")) {
		t.Fatal("ids and keys are not told apart")
	}
}
