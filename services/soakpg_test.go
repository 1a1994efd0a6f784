package services

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bench"
	"github.com/floemq/floe/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.PostgresCleanup()
	os.Exit(code)
}

func tableOf(s bench.PgSample, name string) bench.PgTable {
	for _, t := range s.Tables {
		if t.Name == name {
			return t
		}
	}
	return bench.PgTable{}
}

// The Postgres reading sees a table's size, rows and dead tuples.
func TestReadPgSample(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.Database(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, body text);
		INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g;
		DELETE FROM items WHERE id <= 1000;`)
	require.NoError(t, err)
	// The statistics collector reports at most every PGSTAT_MIN_INTERVAL (1 s).
	var s bench.PgSample
	require.Eventually(t, func() bool {
		s, err = readPgSample(ctx, conn)
		require.NoError(t, err)
		return tableOf(s, "items").DeadTuples == 1000
	}, 10*time.Second, 200*time.Millisecond)
	items := tableOf(s, "items")
	require.Equal(t, int64(4000), items.LiveTuples)
	require.Greater(t, items.Bytes, int64(5000*200))
	require.GreaterOrEqual(t, s.DatabaseBytes, items.Bytes)
	require.Equal(t, int64(1000), s.DeadTuples)
}
