// Package testenv gives integration tests the real parts they run against: a PostgreSQL
// server started from the local installation and a MinIO server built from source.
//
// A test process starts each server at most once and shares it; every test gets its own
// database or bucket. When `make test` has already started the servers it passes them in
// through FLOE_TEST_* variables, and the tests use those instead.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/pglocal"
)

var (
	pgOnce   sync.Once
	pgServer *pglocal.Server
	pgAdmin  string
	pgTmp    string
	pgErr    error
)

// PostgresAdminURL returns a connection string to a running PostgreSQL server on which the
// tests may create databases: FLOE_TEST_DATABASE_URL if set, otherwise a private server
// started once for this test process.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		if u := os.Getenv("FLOE_TEST_DATABASE_URL"); u != "" {
			pgAdmin = u
			return
		}
		pgTmp, pgErr = os.MkdirTemp("", "floe-test-pg-")
		if pgErr != nil {
			return
		}
		pgServer, pgErr = pglocal.Start(context.Background(), pglocal.Config{
			Dir:      filepath.Join(pgTmp, "data"),
			Database: "postgres",
			Settings: map[string]string{"fsync": "off", "max_connections": "300", "full_page_writes": "off"},
			Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if pgErr == nil {
			pgAdmin = pgServer.URL()
		}
	})
	if pgErr != nil {
		t.Fatalf("starting PostgreSQL for tests: %v", pgErr)
	}
	return pgAdmin
}

// PostgresServer returns the private server if this process started one (nil when the
// tests use FLOE_TEST_DATABASE_URL): fault tests use it to restart Postgres.
func PostgresServer() *pglocal.Server { return pgServer }

// PostgresCleanup stops the private server, if any. Call it from TestMain after m.Run.
func PostgresCleanup() {
	if pgServer != nil {
		_ = pgServer.Stop()
		pgServer = nil
	}
	if pgTmp != "" {
		_ = os.RemoveAll(pgTmp)
		pgTmp = ""
	}
}

// Database creates a fresh, empty database for one test and returns its connection string.
// It is dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL(t)
	name := "floe_t_" + RandomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", admin, err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name) + passwordParam(cfg.Password)
}

func passwordParam(p string) string {
	if p == "" {
		return ""
	}
	return "&password=" + p
}

// RandomHex returns n random bytes as hex, for unique names.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
