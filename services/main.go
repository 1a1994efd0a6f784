package services

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/floemq/floe/auth"
	"github.com/floemq/floe/client"
	"github.com/floemq/floe/compactor"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/pglocal"
)

const usage = `floe: a RocketMQ-style message broker on object storage.

Usage:
  floe dev      [flags]   every role in one process, private Postgres and a local folder store
  floe serve    [flags]   run the chosen roles against Postgres and S3 (production)
  floe migrate  [flags]   apply database migrations and exit
  floe health   [--url U] exit 0 if the node at U answers /healthz (container health checks)
  floe bench    --workload FILE | produce|consume|delay|lite [flags]   drive a running node and report throughput, latency and cost
  floe cost     [--url U,U2] [--window D]   object storage requests per GiB and the monthly S3 bill, from /metrics
  floe keys     create|list|revoke|rotate [flags]   manage API keys through a node
  floe topics   list|get|create|update|delete      manage topics through a node
  floe groups   list|get|create|update|delete|subscribe|lag|reset   manage consumer groups
  floe send     TOPIC [BODY|--file F|-]             send one message
  floe receive  GROUP TOPIC [--ack]                 receive (and ack) messages
  floe messages get|by-key|browse                   look messages up, browse by time
  floe trace    TOPIC ID                            a message's path
  floe dlq      list|redrive GROUP                  dead letters; move them back
  floe clients  GROUP | --producers TOPIC           clients seen in the last minute
  floe version

Every flag is also a FLOE_* environment variable (--s3-bucket = FLOE_S3_BUCKET).
Run 'floe <command> -h' for the flags of a command.
`

// Version and Commit are stamped at build time (make build, the Dockerfile:
// -ldflags "-X github.com/floemq/floe/services.Version=..."). A plain `go build` inside
// a git checkout still gets its commit from the Go toolchain's build info.
var (
	Version = "dev"
	Commit  = ""
)

// versionLine is what `floe version` prints: version, commit and Go version.
func versionLine() string {
	commit := Commit
	goVersion := runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok && commit == "" {
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit != "" {
			commit += "-dirty"
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("floe %s (commit %s, %s)", Version, commit, goVersion)
}

// Main runs the floe command line and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "dev":
		err = runDev(args[1:], stderr)
	case "serve":
		err = runServe(args[1:], stderr)
	case "migrate":
		err = runMigrate(args[1:], stderr)
	case "health":
		err = runHealth(args[1:], stderr)
	case "bench":
		err = runBench(args[1:], stdout, stderr)
	case "cost":
		err = runCost(args[1:], stdout, stderr)
	case "keys":
		err = runKeys(args[1:], stdout, stderr)
	case "topics":
		err = runTopics(args[1:], stdout, stderr)
	case "groups":
		err = runGroups(args[1:], stdout, stderr)
	case "send":
		err = runSend(args[1:], os.Stdin, stdout, stderr)
	case "receive":
		err = runReceive(args[1:], stdout, stderr)
	case "messages":
		err = runMessages(args[1:], stdout, stderr)
	case "trace":
		err = runTrace(args[1:], stdout, stderr)
	case "dlq":
		err = runDLQ(args[1:], stdout, stderr)
	case "clients":
		err = runClients(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionLine())
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "floe: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "floe:", err)
		return exitCodeOf(err)
	}
	return 0
}

func runServe(args []string, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("floe serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bindFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	if err := cfg.resolveBootstrapAdminKey(fs, logger); err != nil {
		return err
	}
	applyMemoryLimit(cfg, logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	node, err := StartNode(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return waitAndShutdown(ctx, node, nil)
}

// waitAndShutdown runs until ctx ends, the HTTP server fails or pgDone (the private
// PostgreSQL of floe dev; nil otherwise) closes, then shuts the node down. A node whose
// database is gone could only answer 503, so it stops with an error instead.
func waitAndShutdown(ctx context.Context, node *Node, pgDone <-chan struct{}) error {
	var failure error
	select {
	case <-ctx.Done():
	case err := <-node.Done():
		return fmt.Errorf("HTTP server: %w", err)
	case <-pgDone:
		failure = errors.New("the private PostgreSQL exited; floe cannot work without it (its log: <data>/pg/postgres.log)")
		node.logger.Error("the private PostgreSQL exited; stopping")
	}
	node.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := node.Shutdown(sctx); err != nil && failure == nil {
		return err
	}
	return failure
}

// devDefaults are the settings in which `floe dev` differs from `floe serve`. They are
// defaults, not given flags: FLOE_* variables and flags still override them, and
// `floe dev -h` shows them.
var devDefaults = map[string]string{
	"listen":       "127.0.0.1:8080",
	"grpc-listen":  "127.0.0.1:8081",
	"log-format":   "text",
	"object-store": "folder",
	"require-auth": "false",
}

func runDev(args []string, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runDevContext(ctx, args, stderr)
}

// runDevContext is floe dev until ctx ends.
func runDevContext(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("floe dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bindFlags(fs)
	fs.StringVar(&cfg.DataDir, "data", "./.floe", "data folder: private Postgres in <data>/pg, objects in <data>/objects")
	for name, v := range devDefaults {
		f := fs.Lookup(name)
		_ = f.Value.Set(v)
		f.DefValue = v
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	if err := cfg.resolveBootstrapAdminKey(fs, logger); err != nil {
		return err
	}
	applyMemoryLimit(cfg, logger)

	// One floe per data folder, checked before anything is touched: a second one would
	// find the first one's Postgres and, taking it for a leftover, stop it.
	lock, err := pglocal.AcquireLock(filepath.Join(cfg.DataDir, "floe.lock"))
	var locked *pglocal.LockedError
	if errors.As(err, &locked) {
		return fmt.Errorf("the data folder %s is in use by another floe (pid %d): stop that one first (Ctrl-C), or give this one its own folder with --data", cfg.DataDir, locked.PID)
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := checkListenFree(cfg); err != nil {
		return err
	}

	if cfg.ObjectStore == "folder" && cfg.FolderDir == "" {
		cfg.FolderDir = filepath.Join(cfg.DataDir, "objects")
	}
	var pgDone <-chan struct{}
	if cfg.DatabaseURL == "" {
		pg, err := pglocal.Start(ctx, pglocal.Config{Dir: filepath.Join(cfg.DataDir, "pg"), Logger: logger})
		if errors.Is(err, pglocal.ErrNotInstalled) {
			return fmt.Errorf("PostgreSQL is not installed: install it (Debian/Ubuntu: apt-get install postgresql) or pass --database-url of a running server")
		}
		if err != nil {
			return fmt.Errorf("starting the private PostgreSQL: %w", err)
		}
		defer func() {
			if err := pg.Stop(); err != nil {
				logger.Error("stopping PostgreSQL", "err", err)
			}
		}()
		cfg.DatabaseURL = pg.URL()
		pgDone = pg.Done()
	}
	// With --require-auth and no bootstrap key, nobody could create the first key: make one
	// for this run and show it below (never logged).
	generatedKey := false
	if cfg.RequireAuth && cfg.BootstrapAdminKey == "" {
		if cfg.BootstrapAdminKey, err = auth.NewSecret(); err != nil {
			return err
		}
		generatedKey = true
	}
	node, err := StartNode(ctx, cfg, logger)
	if err != nil {
		return err
	}
	scheme, curl := "http", "curl -s"
	if cfg.TLSCert != "" {
		scheme, curl = "https", "curl -s --cacert "+cfg.TLSCert
	}
	if cfg.RequireAuth {
		curl += ` -H "Authorization: Bearer $FLOE_KEY"`
	}
	base := scheme + "://" + node.Addr()
	fmt.Fprintf(stderr, "\nFloe is running at %s (data in %s).\n", base, cfg.DataDir)
	if a := node.GRPCAddr(); a != nil {
		fmt.Fprintf(stderr, "RocketMQ 5 clients: endpoint %s (gRPC, TLS or plaintext).\n", a)
	}
	if generatedKey {
		fmt.Fprintf(stderr, "API keys are required. The bootstrap admin key of this run (a new one each start;\n"+
			"set --bootstrap-admin-key or --bootstrap-admin-key-file to keep one):\n  export FLOE_KEY=%s\n", cfg.BootstrapAdminKey)
	} else if cfg.RequireAuth {
		fmt.Fprintf(stderr, "API keys are required: export FLOE_KEY=<your bootstrap admin key or an API key>\n")
	}
	fmt.Fprintf(stderr, "Try:\n"+
		"  %[2]s -XPOST %[1]s/v1/topics -d '{\"name\":\"orders\",\"type\":\"NORMAL\",\"queues\":4}'\n"+
		"  %[2]s -XPOST %[1]s/v1/topics/orders/messages -d '{\"messages\":[{\"body\":\"aGVsbG8=\",\"keys\":[\"order-1\"]}]}'\n"+
		"  %[2]s '%[1]s/v1/topics/orders/messages?key=order-1'\n"+
		"Ctrl-C stops it.\n\n", base, curl)
	return waitAndShutdown(ctx, node, pgDone)
}

func runMigrate(args []string, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("floe migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bindFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("no database URL: set --database-url or FLOE_DATABASE_URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	store, err := metadata.Open(ctx, metadata.Config{URL: cfg.DatabaseURL, MaxConns: 2}, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "migrations applied")
	return nil
}

func runHealth(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of the node, as every command takes it (a full /healthz URL works too)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	*url = healthURL(*url)
	c := http.Client{Timeout: *timeout}
	resp, err := c.Get(*url)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", *url, resp.Status)
	}
	return nil
}

// runCost reads /metrics of every node twice, a window apart, and prints the object
// storage bill that rate implies (see compactor.EstimateCost).
func runCost(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("url", "http://127.0.0.1:8080", "comma-separated URLs of the nodes to read (all of them: counters are per node)")
	window := fs.Duration("window", 30*time.Second, "time between the two readings")
	retention := fs.Duration("retention", 72*time.Hour, "retention the storage estimate assumes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	read := func() (compactor.CostSample, error) {
		var total compactor.CostSample
		for i, u := range strings.Split(*urls, ",") {
			text, err := client.New(strings.TrimSpace(u)).Metrics(ctx)
			if err != nil {
				return total, err
			}
			s, err := compactor.ParseCostSample(text, time.Now())
			if err != nil {
				return total, fmt.Errorf("%s: %w", u, err)
			}
			if i == 0 {
				total = s
			} else {
				total = total.Add(s)
			}
		}
		return total, nil
	}
	before, err := read()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reading again in %s...\n", *window)
	select {
	case <-time.After(*window):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := read()
	if err != nil {
		return err
	}
	return compactor.EstimateCost(before, after, *retention, compactor.S3StandardUSEast1).WriteText(stdout)
}
