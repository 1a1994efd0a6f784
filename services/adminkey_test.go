package services

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/auth"
)

// parsedConfig parses args like floe serve does, FLOE_* variables included.
func parsedConfig(t *testing.T, args ...string) (*Config, *flag.FlagSet) {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.bindFlags(fs)
	require.NoError(t, parseFlags(fs, args))
	return &cfg, fs
}

func TestBootstrapKeyFileGeneratedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-key")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	cfg, fs := parsedConfig(t, "--bootstrap-admin-key-file", path)
	require.NoError(t, cfg.resolveBootstrapAdminKey(fs, logger))
	key := cfg.BootstrapAdminKey

	// A strong key: 32 random bytes, base64url, behind the usual secret prefix.
	require.True(t, strings.HasPrefix(key, auth.SecretPrefix), key)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, auth.SecretPrefix))
	require.NoError(t, err)
	require.Len(t, raw, 32)

	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "only floe's user may read the key")
	stored, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, key+"\n", string(stored))

	// The one log line names the file and shows the key, at WARN.
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "shown once")
	require.Contains(t, logs.String(), "key_file="+path)
	require.Contains(t, logs.String(), "key="+key)

	// The next start reads the same key and does not show it again.
	logs.Reset()
	cfg, fs = parsedConfig(t, "--bootstrap-admin-key-file", path)
	require.NoError(t, cfg.resolveBootstrapAdminKey(fs, logger))
	require.Equal(t, key, cfg.BootstrapAdminKey)
	require.NotContains(t, logs.String(), key)

	// No temporary file is left next to the key.
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestBootstrapKeyFileConcurrentStartsAgree(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin-key")
	const nodes = 16
	keys := make([]string, nodes)
	created := make([]bool, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			keys[i], created[i], errs[i] = readOrCreateKeyFile(path)
		}()
	}
	close(start)
	wg.Wait()

	creators := 0
	for i := range nodes {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i], "node %d got another key", i)
		if created[i] {
			creators++
		}
	}
	require.Equal(t, 1, creators, "exactly one node creates (and logs) the key")
	stored, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, keys[0], strings.TrimSpace(string(stored)))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "temporary files must be removed")
}

func TestBootstrapKeyFileGivenKeyIsUsed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-key")
	require.NoError(t, os.WriteFile(path, []byte("  my-own-key\n"), 0o600))
	cfg, fs := parsedConfig(t, "--bootstrap-admin-key-file", path)
	require.NoError(t, cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler)))
	require.Equal(t, "my-own-key", cfg.BootstrapAdminKey)
}

func TestBootstrapKeyFileEmptyOrUnreadableFails(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	cfg, fs := parsedConfig(t, "--bootstrap-admin-key-file", empty)
	err := cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, empty)
	require.ErrorContains(t, err, "is empty")
	require.Empty(t, cfg.BootstrapAdminKey)

	// A folder where the file should be cannot be read as a key.
	folder := filepath.Join(dir, "folder")
	require.NoError(t, os.Mkdir(folder, 0o700))
	cfg, fs = parsedConfig(t, "--bootstrap-admin-key-file", folder)
	err = cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "reading the bootstrap admin key file")
	require.ErrorContains(t, err, folder)

	// A key file in a folder that does not exist is not silently skipped.
	missing := filepath.Join(dir, "nope", "admin-key")
	cfg, fs = parsedConfig(t, "--bootstrap-admin-key-file", missing)
	require.ErrorContains(t, cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler)), missing)
}

func TestBootstrapKeyAndKeyFileBothGivenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-key")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"serve", "--bootstrap-admin-key", "k", "--bootstrap-admin-key-file", path}, &stdout, &stderr)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr.String(), "--bootstrap-admin-key (FLOE_BOOTSTRAP_ADMIN_KEY)")
	require.Contains(t, stderr.String(), "--bootstrap-admin-key-file (FLOE_BOOTSTRAP_ADMIN_KEY_FILE)")
	require.NoFileExists(t, path)

	// A key from the environment with the file on the command line is the same contradiction.
	t.Setenv("FLOE_BOOTSTRAP_ADMIN_KEY", "k")
	cfg, fs := parsedConfig(t, "--bootstrap-admin-key-file", path)
	require.ErrorContains(t, cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler)), "both set")
}

// TestBootstrapKeyBeatsKeyFileFromEnvironment: docker-compose.yml sets the key file for
// every node; a key in .env must still be the one used.
func TestBootstrapKeyBeatsKeyFileFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-key")
	t.Setenv("FLOE_BOOTSTRAP_ADMIN_KEY_FILE", path)
	t.Setenv("FLOE_BOOTSTRAP_ADMIN_KEY", "from-env")
	cfg, fs := parsedConfig(t)
	require.NoError(t, cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler)))
	require.Equal(t, "from-env", cfg.BootstrapAdminKey)
	require.NoFileExists(t, path, "no key is generated when one is given")

	cfg, fs = parsedConfig(t, "--bootstrap-admin-key", "from-flag")
	require.NoError(t, cfg.resolveBootstrapAdminKey(fs, slog.New(slog.DiscardHandler)))
	require.Equal(t, "from-flag", cfg.BootstrapAdminKey)
	require.NoFileExists(t, path)
}
