// Package e2e_test runs Floe end to end: nodes in this process and floe processes, over
// HTTP, against a real Postgres and a real MinIO.
package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/client"
	"github.com/floemq/floe/internal/testenv"
	"github.com/floemq/floe/pglocal"
	"github.com/floemq/floe/services"
)

var floeBin string

func TestMain(m *testing.M) {
	code := func() int {
		defer testenv.PostgresCleanup()
		defer testenv.MinIOCleanup()
		dir, err := os.MkdirTemp("", "floe-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		floeBin = filepath.Join(dir, "floe")
		_, file, _, _ := runtime.Caller(0)
		build := exec.Command("go", "build", "-o", floeBin, "./cmd/floe")
		build.Dir = filepath.Dir(filepath.Dir(file))
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building floe:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// backing is one Postgres database and one MinIO bucket for a test.
type backing struct {
	dbURL  string
	s3     testenv.S3Endpoint
	bucket string
}

func newBacking(t testing.TB) backing {
	t.Helper()
	ep := testenv.MinIO(t)
	return backing{dbURL: testenv.Database(t), s3: ep, bucket: testenv.MinIOBucket(t, ep)}
}

func (b backing) config(roles string) services.Config {
	var cfg services.Config
	cfg.Roles = roles
	cfg.Listen = "127.0.0.1:0"
	cfg.DatabaseURL = b.dbURL
	cfg.Migrate = true
	cfg.ObjectStore = "s3"
	cfg.S3.Bucket = b.bucket
	cfg.S3.Endpoint = b.s3.URL
	cfg.S3.Region = b.s3.Region
	cfg.S3.PathStyle = true
	cfg.S3.AccessKeyID = b.s3.AccessKey
	cfg.S3.SecretAccessKey = b.s3.SecretKey
	cfg.Linger = 20 * time.Millisecond
	cfg.FlushBytes = 8 << 20
	cfg.MaxBufferedBytes = 64 << 20
	cfg.MaxUploads = 4
	cfg.CacheBytes = 64 << 20
	return cfg
}

// env returns the FLOE_* environment of a floe process with these settings.
func (b backing) env(roles string) []string {
	return []string{
		"FLOE_ROLES=" + roles,
		"FLOE_DATABASE_URL=" + b.dbURL,
		"FLOE_OBJECT_STORE=s3",
		"FLOE_S3_BUCKET=" + b.bucket,
		"FLOE_S3_ENDPOINT=" + b.s3.URL,
		"FLOE_S3_REGION=" + b.s3.Region,
		"FLOE_S3_PATH_STYLE=true",
		"FLOE_S3_ACCESS_KEY_ID=" + b.s3.AccessKey,
		"FLOE_S3_SECRET_ACCESS_KEY=" + b.s3.SecretKey,
		"FLOE_LINGER=20ms",
		"FLOE_LOG_FORMAT=text",
		"FLOE_LOG_LEVEL=warn",
		// serve requires API keys by default; these tests exercise everything else.
		"FLOE_REQUIRE_AUTH=false",
	}
}

// startNode runs a node in this process and returns a client of it.
func startNode(t *testing.T, cfg services.Config) (*services.Node, *client.Client) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	n, err := services.StartNode(context.Background(), cfg, logger)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n, client.New("http://"+n.Addr(), client.WithHTTPClient(validatingClient(t)))
}

// proc is a floe process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startProc runs `floe serve` with the given roles as a separate process.
func startProc(t *testing.T, b backing, roles string) *proc {
	t.Helper()
	port, err := pglocal.FreePort()
	require.NoError(t, err)
	cmd := exec.Command(floeBin, "serve")
	cmd.Env = append(os.Environ(), b.env(roles)...)
	cmd.Env = append(cmd.Env, fmt.Sprintf("FLOE_LISTEN=127.0.0.1:%d", port), "FLOE_GRPC_LISTEN=127.0.0.1:0")
	logf, err := os.Create(filepath.Join(t.TempDir(), "floe.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("log of %s (%s):\n%s", roles, p.url, b)
		}
	})
	c := client.New(p.url)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Readyz(ctx) == nil
	}, 60*time.Second, 100*time.Millisecond, "floe %s did not become ready", roles)
	return p
}
