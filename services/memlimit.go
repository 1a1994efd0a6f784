package services

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
)

// memoryHeadroom is what a node needs besides its chunk cache: ingest buffers at their
// usual fill, a compactor merge (its sources and its output at once), requests in flight
// and the Go runtime's own. It is 512 MiB less what the process holds outside the Go
// runtime's count (its mapped code above all, about 64 MiB), so that the resident size
// stays within the cache plus 512 MiB.
const memoryHeadroom = 448 << 20

// minMemoryHeadroom is the least a --memory-limit may leave besides the cache.
const minMemoryHeadroom = 64 << 20

// memoryLimit returns the soft memory limit for the Go runtime (0: none) and where it
// comes from. The collector of a process that holds a large cache otherwise lets the heap
// grow to twice what is live (GOGC=100) before it collects: a 256 MiB cache alone costs
// 512 MiB, and a merge on top of it briefly doubles again. With a limit the collector runs
// sooner as the heap nears it, and never lets it pass while what is live fits. The
// GOMEMLIMIT environment variable, when set, wins: the runtime has read it already.
func memoryLimit(cfg Config, env func(string) string) (int64, string) {
	switch {
	case env("GOMEMLIMIT") != "":
		return 0, "GOMEMLIMIT"
	case cfg.MemoryLimit < 0:
		return 0, "off"
	case cfg.MemoryLimit > 0:
		return cfg.MemoryLimit, "--memory-limit"
	default:
		return cfg.CacheBytes + memoryHeadroom, "cache bytes + 448 MiB"
	}
}

// applyMemoryLimit sets the process's soft memory limit (see memoryLimit) and logs it.
func applyMemoryLimit(cfg Config, logger *slog.Logger) {
	limit, from := memoryLimit(cfg, os.Getenv)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	logger.Info("memory limit", "bytes", limit, "from", from, "limit", fmt.Sprintf("%d MiB", limit>>20))
}
