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
	Roles       string
	Listen      string
	DatabaseURL string
	Migrate     bool

	ObjectStore string // "s3" or "folder"
	FolderDir   string
	S3          objstore.S3Config

	Linger           time.Duration
	FlushBytes       int64
	MaxBufferedBytes int64
	MaxUploads       int
	CacheBytes       int64
	NodeID           string
	ReceiptSecret    string
	MinInvisible     time.Duration

	MaxDelay                 time.Duration
	TransactionFirstCheck    time.Duration
	TransactionCheckInterval time.Duration
	TransactionMaxChecks     int
	TransactionPolicy        string

	LogFormat string
	LogLevel  string

	// Dev only.
	DataDir string
}

// bindFlags declares the shared flags on fs.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Roles, "roles", "ingest,reader,compactor", "roles to run: any of ingest,reader,compactor, or all")
	fs.StringVar(&c.Listen, "listen", ":8080", "HTTP listen address (API, /healthz, /readyz, /metrics)")
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
	fs.DurationVar(&c.Linger, "linger", 100*time.Millisecond, "how long a batch waits for more messages before it flushes")
	fs.Int64Var(&c.FlushBytes, "flush-bytes", 8<<20, "flush a batch at this many message bytes")
	fs.Int64Var(&c.MaxBufferedBytes, "max-buffered-bytes", 256<<20, "message bytes an ingest node holds before sends wait, then get 429")
	fs.IntVar(&c.MaxUploads, "max-uploads", 4, "segment uploads in flight per ingest node")
	fs.Int64Var(&c.CacheBytes, "cache-bytes", 256<<20, "reader chunk cache size in bytes")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's name in object keys and message ids (default random)")
	fs.StringVar(&c.ReceiptSecret, "receipt-secret", "", "HMAC key of receipt handles, at least 16 bytes (default: generated once and kept in Postgres)")
	fs.DurationVar(&c.MinInvisible, "min-invisible", 10*time.Second, "shortest invisible time a receive may ask for (lower it only for tests)")
	fs.DurationVar(&c.MaxDelay, "max-delay", 3*24*time.Hour, "furthest ahead a delayed message may be scheduled (at most 40 days)")
	fs.DurationVar(&c.TransactionFirstCheck, "transaction-first-check", 6*time.Second, "when a producer group is first asked about an unresolved transaction")
	fs.DurationVar(&c.TransactionCheckInterval, "transaction-check-interval", 30*time.Second, "wait between two checks of one transaction")
	fs.IntVar(&c.TransactionMaxChecks, "transaction-max-checks", 15, "checks before the policy resolves a transaction")
	fs.StringVar(&c.TransactionPolicy, "transaction-policy", "rollback", "what happens to a transaction after its last check: rollback or commit")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
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
