package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// floeCLI runs the floe binary with args against url and returns stdout, stderr and the
// exit code.
func floeCLI(t *testing.T, url, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(floeBin, args...)
	cmd.Env = append(os.Environ(), "FLOE_URL="+url, "FLOE_KEY=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

func TestCLIAdmin(t *testing.T) {
	t.Parallel()
	n, _ := startNode(t, folderConfig(t))
	url := "http://" + n.Addr()
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := floeCLI(t, url, "", args...)
		require.Equal(t, want, code, "floe %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
		return out
	}

	// -h on every command exits 0.
	for _, c := range [][]string{{"topics", "-h"}, {"topics", "create", "-h"}, {"groups", "reset", "-h"}, {"send", "-h"},
		{"receive", "-h"}, {"messages", "browse", "-h"}, {"trace", "-h"}, {"dlq", "redrive", "-h"}, {"health", "-h"}} {
		run(0, c...)
	}
	// The same --url everywhere: health takes the base URL too.
	run(0, "health", "--url", url)
	run(0, "health", "--url", url+"/healthz")

	// Topics, with flags before or after the arguments.
	out := run(0, "topics", "create", "orders", "--queues", "2")
	require.Contains(t, out, "orders")
	require.Contains(t, out, "NORMAL")
	out = run(0, "topics", "update", "--retention-hours", "5", "orders", "--queues", "3")
	require.Regexp(t, `orders\s+NORMAL\s+3\s+5h`, out)
	run(ExitConflictCode, "topics", "update", "orders", "--queues", "1")
	run(ExitNotFoundCode, "topics", "get", "nope")
	run(2, "topics", "create", "orders", "--queues", "x")
	run(2, "topics", "frobnicate")
	var topics []struct{ Name string }
	require.NoError(t, json.Unmarshal([]byte(run(0, "topics", "list", "-o", "json")), &topics))
	require.True(t, slices.ContainsFunc(topics, func(tp struct{ Name string }) bool { return tp.Name == "orders" }), "%v", topics)

	// Groups.
	run(0, "groups", "create", "billing", "--max-attempts", "1", "--backoff", "0")
	run(0, "groups", "subscribe", "billing", "orders")
	out = run(0, "groups", "update", "billing", "--max-attempts", "2")
	require.Regexp(t, `billing\s+CONCURRENT\s+2\s+orders\(\*\)`, out)
	run(0, "groups", "update", "billing", "--max-attempts", "1")

	// Send: from an argument, a file, stdin.
	out = run(0, "send", "orders", "hello", "--tag", "created", "--keys", "order-1", "--property", "region=eu", "-o", "json")
	var sent []struct{ MessageID string }
	require.NoError(t, json.Unmarshal([]byte(out), &sent))
	require.Len(t, sent, 1)
	id := sent[0].MessageID
	file := filepath.Join(t.TempDir(), "body")
	require.NoError(t, os.WriteFile(file, []byte("from a file"), 0o600))
	run(0, "send", "orders", "--file", file, "--keys", "order-2")
	_, _, code := floeCLI(t, url, "from stdin", "send", "orders", "-", "--keys", "order-3")
	require.Zero(t, code)
	run(2, "send", "orders", "x", "--property", "novalue")
	run(ExitNotFoundCode, "send", "nope", "x")

	// Look them up.
	out = run(0, "messages", "get", "orders", id)
	require.Contains(t, out, "hello")
	require.Contains(t, out, "region")
	out = run(0, "messages", "by-key", "orders", "order-2")
	require.Contains(t, out, "from a file")
	out = run(0, "messages", "browse", "orders", "--from", "1h", "--oldest")
	for _, body := range []string{"hello", "from a file", "from stdin"} {
		require.Contains(t, out, body)
	}
	out = run(0, "messages", "browse", "orders", "--tag", "created")
	require.Contains(t, out, "hello")
	require.NotContains(t, out, "from stdin")

	// Receive and ack; the lag shows nothing left.
	out = run(0, "receive", "billing", "orders", "--ack", "--max", "10", "--wait", "2", "-o", "json")
	var got []struct{ MessageID string }
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 3)
	out = run(0, "groups", "lag", "billing")
	require.Regexp(t, `TOTAL\s+0\s+0`, out)
	// Verify consumption: one message again, to the group.
	run(0, "messages", "resend", "orders", id, "--group", "billing")
	run(ExitConflictCode, "messages", "resend", "orders", id, "--group", "billing")
	out = run(0, "receive", "billing", "orders", "--ack", "--wait", "2", "-o", "json")
	require.Contains(t, out, id)
	// Traces are written about once a second.
	require.Eventually(t, func() bool {
		out = run(0, "trace", "orders", id)
		return strings.Contains(out, "ACKED")
	}, 15*time.Second, 200*time.Millisecond)
	for _, ev := range []string{"PRODUCED", "STORED", "DELIVERED", "ACKED"} {
		require.Contains(t, out, ev)
	}

	// Offsets: back to a time, then skip to the end.
	run(0, "groups", "reset", "billing", "--topic", "orders", "--time", "2020-01-01T00:00:00Z")
	require.Regexp(t, `TOTAL\s+0\s+3`, run(0, "groups", "lag", "billing"))
	run(0, "groups", "reset", "billing", "--to-end")
	require.Regexp(t, `TOTAL\s+0\s+0`, run(0, "groups", "lag", "billing"))
	run(2, "groups", "reset", "billing")
	run(0, "groups", "reset", "billing", "--topic", "orders", "--queue", "0", "--offset", "0")
	run(2, "groups", "reset", "billing", "--topic", "orders", "--queue", "0", "--offset", "999")
	run(0, "groups", "reset", "billing", "--to-end")

	// Dead letters: list them, move them back with a progress bar.
	require.Contains(t, run(0, "dlq", "list", "billing", "-o", "json"), "[]")
	ids := opDeadLetters(t, url, "orders", "billing", 3)
	var dead []struct{ MessageID string }
	require.NoError(t, json.Unmarshal([]byte(run(0, "dlq", "list", "billing", "-o", "json")), &dead))
	require.Len(t, dead, 3)
	out, errOut, code := floeCLI(t, url, "", "dlq", "redrive", "billing", "--rate", "5")
	require.Zero(t, code, errOut)
	require.Contains(t, errOut, "3/3")
	require.Contains(t, errOut, "[####")
	require.Regexp(t, `SUCCEEDED\s+orders\s+3\s+0\s+3`, out)
	out = run(0, "receive", "billing", "orders", "--ack", "--max", "10", "--wait", "2", "-o", "json")
	for _, id := range ids {
		require.Contains(t, out, id)
	}
	run(ExitNotFoundCode, "dlq", "redrive", "nope")

	// Delete.
	run(0, "groups", "delete", "billing")
	run(0, "topics", "delete", "orders")
	run(ExitNotFoundCode, "groups", "get", "billing")
}

// The exit codes the CLI documents.
const (
	ExitNotFoundCode = 3
	ExitConflictCode = 4
)
