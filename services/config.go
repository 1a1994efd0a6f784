package services

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/floemq/floe/objstore"
)

// Config is everything a floe process needs. Every field is a flag and a FLOE_* variable
// (flag --s3-bucket ⇔ FLOE_S3_BUCKET); a flag given on the command line wins.
type Config struct {
	Roles  string
	Listen string
	// gRPC front end of the RocketMQ 5 clients (ingest and reader roles).
	GRPCListen    string
	GRPCCert      string
	GRPCKey       string
	GRPCAdvertise string
	DatabaseURL   string
	Migrate       bool

	ObjectStore string // "s3" or "folder"
	FolderDir   string
	S3          objstore.S3Config

	Linger           time.Duration
	FlushBytes       int64
	MaxBufferedBytes int64
	MaxUploads       int
	CacheBytes       int64
	ReadAheadBytes   int64
	// MemoryLimit is the Go runtime's soft memory limit in bytes (0: CacheBytes plus
	// 448 MiB; negative: none); see memoryLimit. Only floe serve and floe dev set it: it
	// is the process's, not one node's.
	MemoryLimit        int64
	LagHistoryInterval time.Duration
	NodeID             string
	ReceiptSecret      string
	MinInvisible       time.Duration

	MaxDelay                 time.Duration
	TransactionFirstCheck    time.Duration
	TransactionCheckInterval time.Duration
	TransactionMaxChecks     int
	TransactionPolicy        string

	CompactorInterval           time.Duration
	CompactorTargetChunkBytes   int64
	CompactorMaxMergeBytes      int64
	CompactorMergeAge           time.Duration
	CompactorMaxSmallSegments   int
	CompactorSettleAge          time.Duration
	CompactorReadGrace          time.Duration
	CompactorOrphanGrace        time.Duration
	CompactorOrphanScanInterval time.Duration
	CompactorRetentionInterval  time.Duration
	CompactorLeaseTTL           time.Duration
	CompactorSwapDelay          time.Duration
	// DeadLetterInterval is how often the compactor moves messages past their last
	// attempt to dead-letter topics.
	DeadLetterInterval time.Duration
	// ClientsInterval is how often a node writes the clients it saw to Postgres, for the
	// connected-clients routes (presence.DefaultInterval).
	ClientsInterval time.Duration

	// Auth (see docs/security.md). The zero value is auth off; `floe serve` turns it on
	// through the flag's default.
	RequireAuth bool
	// PprofListen serves net/http/pprof on its own address (empty: off), never on the
	// API listener: profiles reveal internals and cost CPU.
	PprofListen       string
	BootstrapAdminKey string
	// BootstrapAdminKeyFile holds the bootstrap admin key; a missing file is created with
	// a random key at start (see resolveBootstrapAdminKey).
	BootstrapAdminKeyFile string
	QuotaProduceRate      float64
	QuotaReceiveRate      float64
	AuthCacheTTL          time.Duration
	// Produce bytes a second per key; topics, groups and lite topics per namespace.
	QuotaProduceBytesRate float64
	QuotaTopics           int
	QuotaGroups           int
	QuotaLiteTopics       int
	// MetricsRequireAuth makes /metrics need a key with the metrics permission (with
	// RequireAuth only).
	MetricsRequireAuth bool
	// MaxConnections bounds the HTTP listener's open connections (0: 4096).
	MaxConnections int
	// BodyReadTimeout bounds reading one request body (0: 30 s).
	BodyReadTimeout time.Duration
	// CORSOrigin lists the origins (comma-separated, or *) whose browser pages may call the
	// API; empty: none (no CORS headers).
	CORSOrigin string
	// TLSCert and TLSKey (PEM files) make the listener serve HTTPS only.
	TLSCert string
	TLSKey  string

	LogFormat string
	LogLevel  string

	// NoConsole turns the web console off (--console=false); the zero Config serves it.
	NoConsole bool

	// Dev only.
	DataDir string
}

// bindFlags declares every flag on fs: the node's, then each role's (bindIngestFlags,
// bindReaderFlags, bindCompactorFlags) and authentication's, so the flags of one role
// sit in one place.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	c.bindNodeFlags(fs)
	c.bindIngestFlags(fs)
	c.bindReaderFlags(fs)
	c.bindCompactorFlags(fs)
	c.bindAuthFlags(fs)
}

// bindNodeFlags declares the flags of the node: listeners, storage, logs, the console.
func (c *Config) bindNodeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Roles, "roles", "ingest,reader,compactor", "roles to run: any of ingest,reader,compactor, or all")
	fs.StringVar(&c.Listen, "listen", ":8080", "HTTP listen address (API, /healthz, /readyz, /metrics)")
	fs.StringVar(&c.GRPCListen, "grpc-listen", ":8081", "gRPC listen address of the RocketMQ 5 client protocol, TLS and plaintext on one port (empty: off)")
	fs.StringVar(&c.GRPCCert, "grpc-tls-cert", "", "PEM certificate of the gRPC listener (default: self-signed at start)")
	fs.StringVar(&c.GRPCKey, "grpc-tls-key", "", "PEM private key of the gRPC listener")
	fs.StringVar(&c.GRPCAdvertise, "grpc-advertise", "", "host:port the gRPC routes tell clients to dial (default: the address the client dialed)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "Postgres connection string")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply database migrations at start")
	fs.StringVar(&c.ObjectStore, "object-store", "s3", "object store: s3 or folder")
	fs.StringVar(&c.FolderDir, "folder-dir", "", "folder of the folder object store")
	fs.StringVar(&c.S3.Bucket, "s3-bucket", "", "S3 bucket")
	fs.StringVar(&c.S3.Endpoint, "s3-endpoint", "", "S3 endpoint URL (empty = AWS)")
	fs.StringVar(&c.S3.Region, "s3-region", "", "S3 region")
	fs.BoolVar(&c.S3.PathStyle, "s3-path-style", false, "path-style S3 addressing (MinIO)")
	fs.StringVar(&c.S3.AccessKeyID, "s3-access-key-id", "", "S3 access key id (empty = the standard AWS credential chain)")
	fs.StringVar(&c.S3.SecretAccessKey, "s3-secret-access-key", "", "S3 secret access key")
	fs.BoolVar(&c.S3.CreateBucket, "s3-create-bucket", false, "create the bucket if missing (dev, MinIO)")
	fs.DurationVar(&c.ClientsInterval, "clients-interval", 10*time.Second, "how often a node writes the clients it saw (GET /v1/groups/{group}/clients) to Postgres")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's name in object keys and message ids (default random)")
	fs.StringVar(&c.PprofListen, "pprof-listen", "", "address serving Go profiles at /debug/pprof/ (empty: off; keep it private)")
	fs.Var(notFlag{&c.NoConsole}, "console", "serve the web console at /console (it uses the HTTP API with the user's API key; --console=false: off)")
	fs.IntVar(&c.MaxConnections, "max-connections", defaultMaxConnections, "open connections the HTTP listener accepts; more wait in the kernel's backlog")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", defaultBodyReadTimeout, "longest time one request body may take to arrive (a slower one is cut off)")
	fs.StringVar(&c.CORSOrigin, "cors-origin", "", "origins (comma-separated, or *) whose web pages may call the API from a browser (empty: off)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS only, with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// bindIngestFlags declares the flags of the ingest role: the write path, delays and
// transaction checks.
func (c *Config) bindIngestFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Linger, "linger", 100*time.Millisecond, "how long a batch waits for more messages before it flushes")
	fs.Int64Var(&c.FlushBytes, "flush-bytes", 8<<20, "flush a batch at this many message bytes")
	fs.Int64Var(&c.MaxBufferedBytes, "max-buffered-bytes", 256<<20, "message bytes an ingest node holds before sends wait, then get 429")
	fs.IntVar(&c.MaxUploads, "max-uploads", 4, "segment uploads in flight per ingest node")
	fs.DurationVar(&c.MaxDelay, "max-delay", 3*24*time.Hour, "furthest ahead a delayed message may be scheduled (at most 40 days)")
	fs.DurationVar(&c.TransactionFirstCheck, "transaction-first-check", 6*time.Second, "when a producer group is first asked about an unresolved transaction")
	fs.DurationVar(&c.TransactionCheckInterval, "transaction-check-interval", 30*time.Second, "wait between two checks of one transaction")
	fs.IntVar(&c.TransactionMaxChecks, "transaction-max-checks", 15, "checks before the policy resolves a transaction")
}

// bindReaderFlags declares the flags of the reader role (reads and consumption).
func (c *Config) bindReaderFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.CacheBytes, "cache-bytes", 256<<20, "reader chunk cache size in bytes")
	fs.Int64Var(&c.MemoryLimit, "memory-limit", 0, "soft memory limit of the process in bytes: the Go collector works harder as the heap nears it (0: --cache-bytes plus 448 MiB, so that the resident size stays within the cache plus 512 MiB; -1: none; GOMEMLIMIT, when set, wins)")
	fs.Int64Var(&c.ReadAheadBytes, "read-ahead-bytes", 8<<20, "bytes of a segment object one chunk cache miss reads, keeping the neighbouring chunks for the reads that follow (0: the chunk alone)")
	fs.DurationVar(&c.LagHistoryInterval, "lag-history-interval", 30*time.Second, "how often a reader node samples every group's lag for the last hour's chart (GET /v1/groups/{group}/lag/history)")
	fs.StringVar(&c.ReceiptSecret, "receipt-secret", "", "HMAC key of receipt handles, at least 16 bytes (default: generated once and kept in Postgres)")
	fs.DurationVar(&c.MinInvisible, "min-invisible", 10*time.Second, "shortest invisible time a receive may ask for (lower it only for tests)")
}

// bindCompactorFlags declares the flags of the compactor role: merges, retention, timers,
// the policy of unresolved transactions, dead letters.
func (c *Config) bindCompactorFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.TransactionPolicy, "transaction-policy", "rollback", "what happens to a transaction after its last check: rollback or commit")
	fs.DurationVar(&c.CompactorInterval, "compactor-interval", 10*time.Second, "time between compactor runs (merge, retention, garbage collection)")
	fs.Int64Var(&c.CompactorTargetChunkBytes, "compactor-target-chunk-bytes", 4<<20, "stored size a merged chunk aims at; larger rows are never rewritten")
	fs.Int64Var(&c.CompactorMaxMergeBytes, "compactor-max-merge-bytes", 64<<20, "stored bytes one merge reads (bounds merged objects and compactor memory)")
	fs.DurationVar(&c.CompactorMergeAge, "compactor-merge-age", 10*time.Minute, "small rows of flush segments older than this are merged even below the target size")
	fs.IntVar(&c.CompactorMaxSmallSegments, "compactor-max-small-segments", 2000, "flush segments holding small rows past which the oldest are merged before the merge age")
	fs.DurationVar(&c.CompactorSettleAge, "compactor-settle-age", 6*time.Hour, "small merged rows older than this are merged once more (the last rewrite)")
	fs.DurationVar(&c.CompactorReadGrace, "compactor-read-grace", 10*time.Minute, "how long an object stays after the last index row pointing at it went")
	fs.DurationVar(&c.CompactorOrphanGrace, "compactor-orphan-grace", time.Hour, "age past which an object no index row knows is deleted")
	fs.DurationVar(&c.CompactorOrphanScanInterval, "compactor-orphan-scan-interval", time.Hour, "how often one compactor of the cluster lists the bucket for orphans")
	fs.DurationVar(&c.CompactorRetentionInterval, "compactor-retention-interval", time.Minute, "how often data past retention is removed")
	fs.DurationVar(&c.CompactorLeaseTTL, "compactor-lease-ttl", 5*time.Minute, "how long a compactor owns the queues it merges; a merge must finish within it")
	fs.DurationVar(&c.DeadLetterInterval, "dead-letter-interval", time.Second, "how often the compactor moves messages past their last attempt (nacked or invisible time over) to their group's dead-letter topic")
	fs.DurationVar(&c.CompactorSwapDelay, "compactor-swap-delay", 0, "testing only: pause between a merge's upload and its index swap")
}

// bindAuthFlags declares the flags of authentication and quotas (every node).
func (c *Config) bindAuthFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.RequireAuth, "require-auth", true, "require an API key (Authorization: Bearer) on every /v1 route (floe dev: default false)")
	fs.StringVar(&c.BootstrapAdminKey, "bootstrap-admin-key", "", "a secret accepted as admin on every resource, to create the first keys")
	fs.StringVar(&c.BootstrapAdminKeyFile, "bootstrap-admin-key-file", "", "file holding the bootstrap admin key; a missing one is created with a random key, logged once (a key set by --bootstrap-admin-key or its variable wins over this file set by its variable)")
	fs.BoolVar(&c.MetricsRequireAuth, "metrics-require-auth", false, "with --require-auth, /metrics needs a key of the default namespace with the metrics permission (off: /metrics is open, for Prometheus on a private network)")
	fs.Float64Var(&c.QuotaProduceRate, "quota-produce-rate", 0, "messages a second one API key may produce (0 = unlimited)")
	fs.Float64Var(&c.QuotaReceiveRate, "quota-receive-rate", 0, "receive calls a second one API key may make (0 = unlimited)")
	fs.Float64Var(&c.QuotaProduceBytesRate, "quota-produce-bytes-rate", 0, "request body bytes a second one API key may send to the produce routes (0 = unlimited)")
	fs.IntVar(&c.QuotaTopics, "quota-topics", 0, "topics one namespace may hold (0 = unlimited)")
	fs.IntVar(&c.QuotaGroups, "quota-groups", 0, "consumer groups one namespace may hold (0 = unlimited)")
	fs.IntVar(&c.QuotaLiteTopics, "quota-lite-topics", 0, "lite topics one namespace may hold over all its LITE topics (0 = unlimited)")
	fs.DurationVar(&c.AuthCacheTTL, "auth-cache-ttl", 2*time.Second, "how long a node remembers an API key lookup (at most 5s: a revoked key works that long)")
}

// parseFlags parses args, then fills every flag not given from its FLOE_* variable.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("bad environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// EnvName is the FLOE_* variable of a flag.
func EnvName(flagName string) string {
	return "FLOE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// validate checks settings that flags alone cannot.
func (c *Config) validate() error {
	if c.MaxDelay > 40*24*time.Hour {
		return fmt.Errorf("max-delay %s is over the 40-day limit", c.MaxDelay)
	}
	if c.TransactionPolicy != "" && c.TransactionPolicy != "rollback" && c.TransactionPolicy != "commit" {
		return fmt.Errorf("transaction-policy %q: want rollback or commit", c.TransactionPolicy)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls-cert and tls-key go together: give both or neither")
	}
	if c.MetricsRequireAuth && !c.RequireAuth {
		return fmt.Errorf("metrics-require-auth needs require-auth: without it no route asks for a key, /metrics neither")
	}
	if c.MaxConnections < 0 || c.BodyReadTimeout < 0 {
		return fmt.Errorf("max-connections and body-read-timeout must not be negative (0 = the default)")
	}
	if c.QuotaTopics < 0 || c.QuotaGroups < 0 || c.QuotaLiteTopics < 0 || c.QuotaProduceBytesRate < 0 {
		return fmt.Errorf("quotas must not be negative (0 = unlimited)")
	}
	if c.MemoryLimit > 0 && c.MemoryLimit < c.CacheBytes+minMemoryHeadroom {
		// Below what the cache alone holds, the collector would run without end.
		return fmt.Errorf("memory-limit %d is below cache-bytes plus %d MiB (%d): raise it, or give 0 for the default or -1 for none",
			c.MemoryLimit, minMemoryHeadroom>>20, c.CacheBytes+minMemoryHeadroom)
	}
	return nil
}

// roles parses the roles list.
func (c *Config) roles() (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range strings.Split(c.Roles, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "all":
			out["ingest"], out["reader"], out["compactor"] = true, true, true
		case "ingest", "reader", "compactor":
			out[r] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown role %q (want ingest, reader, compactor or all)", r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no roles given")
	}
	return out, nil
}

// newLogger builds the process logger.
func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want json or text", format)
}
