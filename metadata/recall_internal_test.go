package metadata

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitRun(t *testing.T) {
	for _, c := range []struct {
		name        string
		skip, count int
		recalled    []int
		want        [][2]int
	}{
		{"none", 4, 3, nil, [][2]int{{4, 3}}},
		{"outside the run", 4, 3, []int{0, 3, 7, 100}, [][2]int{{4, 3}}},
		{"first", 4, 3, []int{4}, [][2]int{{5, 2}}},
		{"last", 4, 3, []int{6}, [][2]int{{4, 2}}},
		{"middle", 4, 3, []int{5}, [][2]int{{4, 1}, {6, 1}}},
		{"all", 4, 3, []int{6, 4, 5}, nil},
		{"unsorted, adjacent", 0, 10, []int{7, 2, 3, 9}, [][2]int{{0, 2}, {4, 3}, {8, 1}}},
		{"duplicates", 0, 4, []int{1, 1}, [][2]int{{0, 1}, {2, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := splitRun(c.skip, c.count, c.recalled)
			require.Equal(t, c.want, got)
			kept := 0
			for _, p := range got {
				kept += p[1]
			}
			require.LessOrEqual(t, kept, c.count)
		})
	}
}
