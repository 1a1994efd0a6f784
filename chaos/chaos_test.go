package chaos

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/pglocal"
)

// The CI version of the chaos run (`go test ./chaos/`, part of `make test`): about 35 s of
// load and faults on a fresh cluster, then a short run that deletes one acknowledged
// message's index row and must be caught. Together they stay under two minutes. `make
// chaos` runs the long version (cmd/floe-chaos). FLOE_CHAOS_SEED and
// FLOE_CHAOS_DURATION change the CI run's seed and length.
const (
	ciSeed     = 5
	ciDuration = 35 * time.Second
)

// ciFaultKinds are the fault kinds the CI run draws from: all of them.
var ciFaultKinds = AllFaultKinds

// ciStableNodeIDs runs the floe processes with fixed FLOE_NODE_IDs, as deployments do:
// a restarted ingest node then reuses its name (bug 1 of docs/chaos.md, fixed: object keys
// carry a per-process incarnation).
const ciStableNodeIDs = true

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postgres, MinIO and five floe processes; not a -short test")
	}
	if _, err := pglocal.FindBinDir(); err != nil {
		t.Skip(err)
	}
	minio := MinIOBinary()
	if _, err := os.Stat(minio); err != nil {
		if os.Getenv("FLOE_TEST_REQUIRE_MINIO") == "1" {
			t.Fatalf("no MinIO binary at %s (FLOE_TEST_REQUIRE_MINIO=1): build it with scripts/minio.sh", minio)
		}
		t.Skipf("no MinIO binary at %s: build it with scripts/minio.sh or set FLOE_MINIO_BIN", minio)
	}
	seed := uint64(ciSeed)
	if s := os.Getenv("FLOE_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "FLOE_CHAOS_SEED")
		seed = v
	}
	duration := ciDuration
	if s := os.Getenv("FLOE_CHAOS_DURATION"); s != "" {
		v, err := time.ParseDuration(s)
		require.NoError(t, err, "FLOE_CHAOS_DURATION")
		duration = v
	}

	dir, err := os.MkdirTemp("", "floe-chaos-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs and data kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	_, file, _, _ := runtime.Caller(0)
	bin, err := BuildFloe(filepath.Dir(filepath.Dir(file)), dir)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := &testWriter{t: t}
	t.Cleanup(func() { log.done.Store(true) })
	c, err := StartCluster(ctx, ClusterConfig{Dir: dir, FloeBin: bin, MinIOBin: minio, Log: log, StableNodeIDs: ciStableNodeIDs})
	require.NoError(t, err)
	defer c.Close()

	t.Run("faults", func(t *testing.T) {
		res, err := RunOn(ctx, c, Config{Name: "ci", Seed: seed, Duration: duration, FaultKinds: ciFaultKinds,
			QuietMin: 2 * time.Second, QuietMax: 5 * time.Second, FaultMin: time.Second, FaultMax: 5 * time.Second,
			DrainTimeout: 40 * time.Second, Log: log})
		require.NoError(t, err)
		t.Logf("seed %d, %s, unexpected exits %v:\n%s", seed, res.Elapsed.Round(time.Second), res.UnexpectedExits, res.Report.Markdown())
		require.Empty(t, res.Report.Failures(), "seed %d; logs in %s", seed, dir)
		require.Positive(t, res.Report.Faults)
		for _, k := range Kinds {
			require.Positive(t, res.Report.Kinds[k].Acked, "%s: some messages must be acknowledged", k)
		}
	})

	// The end-to-end check catches a loss: one acknowledged message's index row is deleted
	// halfway through a short run without faults.
	t.Run("injected-loss", func(t *testing.T) {
		res, err := RunOn(ctx, c, Config{Name: "loss", Seed: seed, Duration: 8 * time.Second, NoFaults: true, InjectLoss: "index",
			DelayMax: 2 * time.Second, DrainTimeout: 15 * time.Second, Log: log})
		require.NoError(t, err)
		t.Logf("%s, unexpected exits %v:\n%s", res.Elapsed.Round(time.Second), res.UnexpectedExits, res.Report.Markdown())
		require.Len(t, res.History.Injections, 1, "the loss must have been injected")
		require.Positive(t, res.Report.Lost, "the checker must report the deleted message as lost")
		require.NotEmpty(t, res.Report.Failures())
	})
}

// testWriter sends progress lines to the test log until the test ends.
type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
