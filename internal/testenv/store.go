package testenv

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/metadata"
)

// Store opens a metadata store on a migrated database, closed when the test ends: a
// private one (Database) unless cfg.URL names one, such as the database of a node the
// test started. The other fields of cfg are passed on; reg may be nil.
func Store(t testing.TB, cfg metadata.Config, reg prometheus.Registerer) *metadata.Store {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = Database(t)
	}
	ctx := context.Background()
	s, err := metadata.Open(ctx, cfg, reg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.Migrate(ctx))
	return s
}
