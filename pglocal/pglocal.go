// Package pglocal runs a private PostgreSQL server from the local PostgreSQL installation.
//
// It backs `floe dev` (the embedded default) and the integration tests: initdb into a data
// folder on first use, then a postgres process on its own loopback port, stopped with the
// caller. When the caller runs as root, initdb and postgres refuse to start, so both run as
// the `postgres` system user and the data folder is handed to that user.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned when no PostgreSQL server binaries can be found.
var ErrNotInstalled = errors.New("no PostgreSQL installation found (need initdb and postgres on PATH or under /usr/lib/postgresql/*/bin)")

// Config says where and how to run the server.
type Config struct {
	// Dir is the data folder; it is created and initialised on first use and reused after.
	Dir string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Database is created if missing; default "floe".
	Database string
	// Settings are extra `-c name=value` server settings (e.g. fsync=off for tests).
	Settings map[string]string
	// LogFile receives the server's output; default <Dir>/postgres.log.
	LogFile string
	// Logger gets one line per lifecycle step; default slog.Default().
	Logger *slog.Logger
}

// Server is a running private PostgreSQL server.
type Server struct {
	cfg    Config
	port   int
	cmd    *exec.Cmd
	done   chan struct{}
	logger *slog.Logger
}

// FindBinDir returns the folder holding initdb and postgres: PATH first, then the newest
// /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func versionOf(initdbPath string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))))
	return v
}

// Start initialises the data folder if needed and starts the server, waiting until it
// accepts connections and the database exists.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Database == "" {
		cfg.Database = "floe"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Dir == "" {
		return nil, errors.New("pglocal: data folder not set")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	if cfg.LogFile == "" {
		cfg.LogFile = filepath.Join(cfg.Dir, "postgres.log")
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	// The lock proves that no live process owns a postgres on this folder, so one found
	// running was left by a process that died and may be stopped.
	lock, err := AcquireLock(cfg.Dir + ".lock")
	var locked *LockedError
	if errors.As(err, &locked) {
		return nil, fmt.Errorf("the PostgreSQL data folder %s is in use by process %d; stop that process first or use another folder", cfg.Dir, locked.PID)
	}
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			lock.Release()
		}
	}()
	if err := prepareDir(cfg.Dir, cred); err != nil {
		return nil, err
	}
	stopStale(cfg.Dir, cfg.Logger)

	if _, err := os.Stat(filepath.Join(cfg.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		cfg.Logger.Info("initialising private PostgreSQL", "dir", cfg.Dir)
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", cfg.Dir, "-U", "postgres",
			"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w: %s", cfg.Dir, err, strings.TrimSpace(string(out)))
		}
	}

	port := cfg.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening postgres log: %w", err)
	}
	args := []string{"-D", cfg.Dir, "-p", strconv.Itoa(port), "-k", "", "-c", "listen_addresses=127.0.0.1"}
	keys := make([]string, 0, len(cfg.Settings))
	for k := range cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+cfg.Settings[k])
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = os.TempDir()
	// Setpgid keeps a terminal's Ctrl-C away from postgres: Stop shuts it down in order.
	// Pdeathsig ends it if this process dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	s := &Server{cfg: cfg, port: port, cmd: cmd, done: make(chan struct{}), logger: cfg.Logger}
	started = true
	go func() {
		_ = cmd.Wait()
		logf.Close()
		lock.Release()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	cfg.Logger.Info("private PostgreSQL running", "port", port, "dir", cfg.Dir)
	return s, nil
}

// URL is the connection string of the server's database.
func (s *Server) URL() string {
	return s.DatabaseURL(s.cfg.Database)
}

// DatabaseURL is the connection string of another database on the same server.
func (s *Server) DatabaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Port is the server's loopback port.
func (s *Server) Port() int { return s.port }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop shuts the server down (fast mode: rolls back open transactions, checkpoints) and
// waits for it to exit, killing it after 30 s.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("postgres did not stop in 30 s; killed")
	}
}

// Kill stops the server with SIGKILL, as a crash would (used by fault tests).
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited at start; see %s", s.cfg.LogFile)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.DatabaseURL("postgres"))
		if err == nil {
			err = ensureDatabase(cctx, conn, s.cfg.Database)
			conn.Close(cctx)
			cancel()
			if err == nil {
				return nil
			}
			return err
		}
		cancel()
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready after 60 s: %w", last)
}

func ensureDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return fmt.Errorf("checking database %s: %w", db, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %s: %w", db, err)
	}
	return nil
}

// runAs returns the credential to run initdb/postgres with: nil for an ordinary user, the
// postgres system user's when running as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres system user, which is missing: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDir creates the data folder (mode 0700, as postgres demands) and, as root, hands it to
// the postgres user and makes sure that user can reach it through its parents.
func prepareDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if cred == nil {
		return nil
	}
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	}); err != nil {
		return fmt.Errorf("handing %s to the postgres user: %w", dir, err)
	}
	// Every parent must be searchable by the postgres user.
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("making %s searchable for postgres: %w", p, err)
			}
		}
	}
	return nil
}

// stopStale stops a postgres left running on dir by a previous process that died uncleanly.
// The caller holds dir's lock, so that process is gone.
func stopStale(dir string, logger *slog.Logger) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return
	}
	if syscall.Kill(pid, 0) != nil {
		return
	}
	logger.Warn("stopping a postgres left running on the data folder", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that is free right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
