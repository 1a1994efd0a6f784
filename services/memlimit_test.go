package services

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoryLimitFollowsTheCacheUnlessSet(t *testing.T) {
	noEnv := func(string) string { return "" }
	limit, from := memoryLimit(Config{CacheBytes: 256 << 20}, noEnv)
	require.Equal(t, int64(704<<20), limit, "the cache plus 448 MiB by default")
	require.Equal(t, "cache bytes + 448 MiB", from)

	limit, _ = memoryLimit(Config{CacheBytes: 1 << 30}, noEnv)
	require.Equal(t, int64(1472<<20), limit, "a larger cache raises the default")

	limit, from = memoryLimit(Config{CacheBytes: 256 << 20, MemoryLimit: 3 << 30}, noEnv)
	require.Equal(t, int64(3<<30), limit)
	require.Equal(t, "--memory-limit", from)

	limit, from = memoryLimit(Config{CacheBytes: 256 << 20, MemoryLimit: -1}, noEnv)
	require.Zero(t, limit, "-1 sets no limit")
	require.Equal(t, "off", from)

	env := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "2GiB"
		}
		return ""
	}
	limit, from = memoryLimit(Config{CacheBytes: 256 << 20, MemoryLimit: 3 << 30}, env)
	require.Zero(t, limit, "GOMEMLIMIT is the runtime's already: floe leaves it")
	require.Equal(t, "GOMEMLIMIT", from)
}

// A limit the cache alone would fill is refused by name, before the node starts.
func TestMemoryLimitBelowTheCacheIsRefused(t *testing.T) {
	cfg := Config{CacheBytes: 256 << 20, MemoryLimit: 200 << 20}
	err := cfg.validate()
	require.ErrorContains(t, err, "memory-limit")
	require.ErrorContains(t, err, "cache-bytes")
	for _, ok := range []int64{0, -1, 320 << 20, 1 << 30} {
		cfg.MemoryLimit = ok
		require.NoError(t, cfg.validate(), "memory-limit %d", ok)
	}
}
