package services

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/pglocal"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var runningAt = regexp.MustCompile(`Floe is running at (http://\S+) `)

// startDev runs floe dev until the test ends and returns its base URL and its result.
func startDev(t *testing.T, data string) (string, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(stopped)
		done <- runDevContext(ctx, []string{"--data", data, "--listen", "127.0.0.1:0", "--grpc-listen", "", "--log-level", "warn"}, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(60 * time.Second):
			t.Error("floe dev did not stop")
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if m := runningAt.FindStringSubmatch(out.String()); m != nil {
			return m[1], done
		}
		select {
		case err := <-done:
			t.Fatalf("floe dev stopped at start: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("floe dev did not start:\n%s", out.String())
	return "", nil
}

func readyStatus(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestDevSecondStartRefused: a second floe dev on the same data folder refuses before it
// touches anything, the first keeps working, a busy port is reported before Postgres is
// set up, and the first one stops with an error when its Postgres dies.
func TestDevSecondStartRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	if _, err := pglocal.FindBinDir(); err != nil {
		t.Skip(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	base, firstDone := startDev(t, data)
	require.Equal(t, http.StatusOK, readyStatus(t, base))

	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := runDevContext(ctx, []string{"--data", data, "--listen", "127.0.0.1:0", "--grpc-listen", ""}, &out)
	require.ErrorContains(t, err, "data folder "+data+" is in use by another floe (pid "+strconv.Itoa(os.Getpid())+")")
	require.NotContains(t, out.String(), "postgres", "the second start must not touch Postgres")
	require.Equal(t, http.StatusOK, readyStatus(t, base), "the first floe dev must keep working")

	// A busy port is said first: no Postgres is set up for a start that cannot listen.
	other := filepath.Join(t.TempDir(), "other")
	addr := strings.TrimPrefix(base, "http://")
	err = runDevContext(ctx, []string{"--data", other, "--listen", addr, "--grpc-listen", ""}, &out)
	require.ErrorContains(t, err, addr+" is already in use")
	require.ErrorContains(t, err, "--listen or FLOE_LISTEN")
	require.NoDirExists(t, filepath.Join(other, "pg"))

	// The first one's Postgres dies: floe dev stops with an error instead of answering 503.
	b, err := os.ReadFile(filepath.Join(data, "pg", "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case err := <-firstDone:
		require.ErrorContains(t, err, "private PostgreSQL exited")
	case <-time.After(30 * time.Second):
		t.Fatal("floe dev kept running without its PostgreSQL")
	}

	// Once the first is gone, the folder is free again.
	base2, _ := startDev(t, data)
	require.Equal(t, http.StatusOK, readyStatus(t, base2))
}

// TestDevDefaultsAreDefaults: dev's own defaults show in -h and yield to FLOE_* variables.
func TestDevDefaultsAreDefaults(t *testing.T) {
	var out bytes.Buffer
	err := runDevContext(context.Background(), []string{"-h"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out.String(), `(default "127.0.0.1:8080")`)
	require.Contains(t, out.String(), `(default "folder")`)
	require.Contains(t, out.String(), `(default "text")`)
	require.NotContains(t, out.String(), `(default ":8080")`)

	t.Setenv("FLOE_LOG_FORMAT", "yaml")
	err = runDevContext(context.Background(), []string{"--data", t.TempDir()}, &out)
	require.ErrorContains(t, err, `log format "yaml"`, "FLOE_LOG_FORMAT must reach floe dev")
}
