package services

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/floemq/floe/auth"
)

// resolveBootstrapAdminKey fills c.BootstrapAdminKey from c.BootstrapAdminKeyFile. flags is
// the parsed flag set: it tells a flag given on the command line from one set by its
// FLOE_* variable.
//
// A key given directly wins over a key file that came from the environment, so a
// deployment can name a key file for everyone (docker-compose.yml) and an operator can
// still pass a key of their own. A key file given on the command line next to a key is a
// contradiction and stops the start.
func (c *Config) resolveBootstrapAdminKey(flags *flag.FlagSet, logger *slog.Logger) error {
	if c.BootstrapAdminKeyFile == "" {
		return nil
	}
	if c.BootstrapAdminKey != "" {
		fileOnCommandLine := false
		flags.Visit(func(f *flag.Flag) {
			if f.Name == "bootstrap-admin-key-file" {
				fileOnCommandLine = true
			}
		})
		if fileOnCommandLine {
			return errors.New("--bootstrap-admin-key (FLOE_BOOTSTRAP_ADMIN_KEY) and --bootstrap-admin-key-file (FLOE_BOOTSTRAP_ADMIN_KEY_FILE) are both set: give one of them")
		}
		logger.Info("bootstrap admin key given; the key file is not used", "key_file", c.BootstrapAdminKeyFile)
		return nil
	}
	key, created, err := readOrCreateKeyFile(c.BootstrapAdminKeyFile)
	if err != nil {
		return err
	}
	if created {
		// The key is logged so that `docker compose logs` shows it: a container without a
		// shell offers no other easy way to a first key. Only the node that created the
		// file logs it, once.
		logger.Warn("generated the bootstrap admin key (admin on everything): it is shown once, in this line; read it again from key_file",
			"key_file", c.BootstrapAdminKeyFile, "key", key)
	}
	c.BootstrapAdminKey = key
	return nil
}

// readOrCreateKeyFile returns the key stored in path. When path does not exist it writes a
// new random key there and reports created. Several processes may call it at once on one
// file (nodes sharing a volume): the key is written to a private temporary file and hard
// linked to path, which fails if path exists, so exactly one key wins and every caller
// returns it.
func readOrCreateKeyFile(path string) (key string, created bool, err error) {
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	secret, err := auth.NewSecret()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Dir(path)
	// os.CreateTemp makes the file with mode 0600: only floe's user reads the key.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", false, fmt.Errorf("creating the bootstrap admin key file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(secret + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", false, fmt.Errorf("writing the bootstrap admin key file %s: %w", path, werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: its key is the one.
			key, err = readKeyFile(path)
			return key, false, err
		}
		return "", false, fmt.Errorf("creating the bootstrap admin key file %s: %w", path, err)
	}
	// Best effort: make the new name survive a crash, or the key just logged could be
	// replaced by another one at the next start.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return secret, true, nil
}

// readKeyFile reads a key file; surrounding white space (a trailing newline) is not part
// of the key. A missing file is an error that matches fs.ErrNotExist.
func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the bootstrap admin key file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the bootstrap admin key file %s is empty: write a key into it, or remove it to have a new one generated", path)
	}
	return key, nil
}
