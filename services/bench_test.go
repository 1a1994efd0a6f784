package services

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/bench"
)

func TestBenchWorkloadFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "w.yaml")
	require.NoError(t, os.WriteFile(good, []byte("name: w\nqueues: 2\nmessageSize: 64\nproducers: 1\nrate: 10\nduration: 1s\n"), 0o644))

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--url", "http://127.0.0.1:1"}, "--workload FILE is required"},
		{[]string{"--workload", filepath.Join(dir, "missing.yaml")}, "reading workload"},
		{[]string{"--workload", good, "--rate", "fast"}, `--rate: rate must be a whole number`},
		{[]string{"--workload", good, "--producers", "0"}, "w.yaml: producers is required and must be at least 1"},
		{[]string{"--workload", good, "extra"}, `unexpected argument "extra"`},
		{[]string{"--workload", good, "--url", "http://127.0.0.1:1"}, "looking up topic w"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := runBench(tt.args, &stdout, &stderr)
		require.ErrorContains(t, err, tt.want, "%v", tt.args)
	}
}

func TestBenchWorkloadOverrides(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("producers", 0, "")
	fs.String("rate", "", "")
	fs.Duration("duration", 0, "")
	fs.Int("queues", 0, "")
	require.NoError(t, fs.Parse([]string{"--producers", "7", "--rate", "1234", "--duration", "3s"}))
	set, err := workloadOverrides(fs)
	require.NoError(t, err)
	w := bench.Workload{Producers: 1, Queues: 5, Rate: bench.MaxRate, MaxBacklog: 99}
	set(&w)
	require.Equal(t, bench.Workload{Producers: 7, Queues: 5, Rate: bench.Rate{PerSecond: 1234},
		Duration: bench.Duration(3 * time.Second)}, w, "only the flags given change the workload")
}

func TestBenchDrainFlags(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := runBench([]string{"drain", "--url", "http://127.0.0.1:1", "--messages", "10"}, &stdout, &stderr)
	require.ErrorContains(t, err, "looking up topic bench-drain")
	require.Empty(t, stdout.String(), "nothing ran, nothing reported")

	err = runBench([]string{"drain", "--size", "8"}, &stdout, &stderr)
	require.ErrorContains(t, err, "at least 16 bytes")

	require.Equal(t, []string{"http://a:1", "http://b:2"}, splitList(" http://a:1,,http://b:2 "))
}

func TestBenchSoakFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"soak", "--rate", "0"}, "--rate must be at least 1"},
		{[]string{"soak", "extra"}, `unexpected argument "extra"`},
		{[]string{"soak", "--consumers", "0"}, "a soak run needs consumers"},
		{[]string{"soak", "--pg-bytes-per-message", "0"}, "--pg-bytes-per-message and --bytes-per-object must be positive, got 0 and 16777216"},
		{[]string{"soak", "--bytes-per-object", "-1"}, "--pg-bytes-per-message and --bytes-per-object must be positive, got 6 and -1"},
		{[]string{"soak", "--watch", "minio=abc"}, `--watch: a watched process is NAME=PID with a positive PID, got "minio=abc"`},
		{[]string{"soak", "--url", "http://127.0.0.1:1", "--out", t.TempDir()}, "looking up topic soak"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := runBench(tt.args, &stdout, &stderr)
		require.ErrorContains(t, err, tt.want, "%v", tt.args)
		require.Empty(t, stdout.String(), "nothing ran, nothing reported: %v", tt.args)
	}
}
