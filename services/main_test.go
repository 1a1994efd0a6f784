package services

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHelpExitsZero: asking any command for help prints its usage and exits 0.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"help"}, {"dev", "-h"}, {"serve", "-h"}, {"migrate", "-h"}, {"health", "-h"},
		{"bench", "-h"}, {"bench", "--help"}, {"bench", "produce", "-h"}, {"bench", "consume", "-h"},
		{"bench", "delay", "-h"}, {"bench", "lite", "-h"}, {"bench", "--workload", "w.yaml", "-h"},
		{"cost", "-h"}, {"keys", "-h"}, {"keys", "create", "-h"}, {"keys", "list", "-h"},
		{"keys", "revoke", "-h"}, {"keys", "rotate", "-h"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(args, &stdout, &stderr)
		require.Equal(t, 0, code, "floe %s: %s%s", strings.Join(args, " "), stdout.String(), stderr.String())
		require.Contains(t, stdout.String()+stderr.String(), "-", "floe %s prints its usage", strings.Join(args, " "))
	}
}

// TestBenchProduceHelpListsItsOwnFlags: produce has no consumers.
func TestBenchProduceHelpListsItsOwnFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, Main([]string{"bench", "produce", "-h"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "-producers")
	require.NotContains(t, stderr.String(), "-consumers")
	stderr.Reset()
	require.Equal(t, 0, Main([]string{"bench", "consume", "-h"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "-consumers")
}

func TestUnknownCommandsFail(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, Main([]string{"nope"}, &stdout, &stderr))
	require.Equal(t, 1, Main([]string{"keys", "nope"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), `unknown command "nope"`)
}

func TestVersionStamped(t *testing.T) {
	old, oldCommit := Version, Commit
	t.Cleanup(func() { Version, Commit = old, oldCommit })
	Version, Commit = "v1.2.3", "abc1234"
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, Main([]string{"version"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "floe v1.2.3 (commit abc1234, go")
}
