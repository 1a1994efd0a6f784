// Package miniobin says where the pinned MinIO server binary lives, for the test
// environment and the fault-injection harness alike (scripts/minio.sh builds it there).
package miniobin

import (
	"os"
	"path/filepath"
)

// Version is the pinned MinIO module version; scripts/minio.sh must name the same one.
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Path returns the MinIO binary: FLOE_MINIO_BIN if set, else
// ${FLOE_CACHE_DIR:-$HOME/.cache/floe}/minio-VERSION/minio.
func Path() string {
	if bin := os.Getenv("FLOE_MINIO_BIN"); bin != "" {
		return bin
	}
	cache := os.Getenv("FLOE_CACHE_DIR")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "floe")
	}
	return filepath.Join(cache, "minio-"+Version, "minio")
}
