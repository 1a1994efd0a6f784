// Package metadata is Floe's Postgres store: topics, queues and their offset counters, the
// segment and chunk index, consumer groups and their state. All SQL lives here; callers use
// Noun-Verb methods with a context first and one params struct where there are several.
//
// It knows nothing of HTTP or object storage.
package metadata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floemq/floe/migrations"
)

// ErrNotFound is returned when a named row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write contradicts what is stored.
var ErrConflict = errors.New("conflict")

// Store is the Postgres-backed metadata store. It is safe for concurrent use.
type Store struct {
	pool          *pgxpool.Pool
	quotas        Quotas
	txTotal       *prometheus.CounterVec
	txSecs        *prometheus.HistogramVec
	quotaExceeded *prometheus.CounterVec
}

// Config tunes the connection pool.
type Config struct {
	// URL is the Postgres connection string.
	URL string
	// MaxConns bounds the pool; default 16.
	MaxConns int32
	// Quotas bound the topics, groups and lite topics of each namespace; zero: none.
	Quotas Quotas
}

// Open connects to Postgres. Metrics are registered on reg (nil: not registered).
func Open(ctx context.Context, cfg Config, reg prometheus.Registerer) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	pcfg.MaxConns = cfg.MaxConns
	if pcfg.MaxConns == 0 {
		pcfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to Postgres: %w", err)
	}
	s := &Store{
		pool:   pool,
		quotas: cfg.Quotas,
		txTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_metadata_transactions_total",
			Help: "Postgres transactions (a single statement counts as one), by operation and result.",
		}, []string{"operation", "result"}),
		txSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floe_metadata_transaction_duration_seconds",
			Help:    "Time spent in Postgres transactions, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"operation"}),
		quotaExceeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_metadata_quota_exceeded_total",
			Help: "Creates refused because the namespace holds its limit, by resource (topics, groups, lite_topics).",
		}, []string{"resource"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.txTotal, s.txSecs, s.quotaExceeded} {
			if err := reg.Register(c); err != nil {
				pool.Close()
				return nil, fmt.Errorf("registering metadata metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that Postgres answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.observe("ping", func() error { return s.pool.Ping(ctx) })
}

// observe runs one Postgres transaction's worth of work and counts it.
func (s *Store) observe(op string, fn func() error) error {
	start := time.Now()
	err := fn()
	s.txSecs.WithLabelValues(op).Observe(time.Since(start).Seconds())
	result := "ok"
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrQuotaExceeded) {
		result = "error"
	}
	s.txTotal.WithLabelValues(op, result).Inc()
	return err
}

// inTx runs fn in one transaction, counted as op.
func (s *Store) inTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return s.observe(op, func() error {
		return pgx.BeginFunc(ctx, s.pool, fn)
	})
}

// conn is what a transaction's statements run on: a pgx.Tx, or a connection inside a
// transaction begun by inPipelinedTx.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// txBatch returns a batch that begins a transaction: the first batch an inPipelinedTx
// function sends, so that BEGIN costs no round trip of its own.
func txBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	return b
}

// inPipelinedTx runs fn as one transaction, counted as op, like inTx, but on a bare
// connection: fn must send a batch from txBatch before any other statement, and the
// transaction commits after fn returns nil (rolls back otherwise), unless fn's last batch
// ended it with COMMIT, saving that round trip too. Hot paths use it to
// save the round trip of BEGIN, which on a busy machine costs more than the statements.
func (s *Store) inPipelinedTx(ctx context.Context, op string, fn func(c *pgx.Conn) error) error {
	return s.observe(op, func() error {
		pc, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquiring a connection: %w", err)
		}
		// A connection left inside a transaction is closed by the pool, not reused.
		defer pc.Release()
		c := pc.Conn()
		if err := fn(c); err != nil {
			if c.PgConn().TxStatus() != 'I' {
				if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
					return errors.Join(err, fmt.Errorf("rolling back: %w", rerr))
				}
			}
			return err
		}
		if c.PgConn().TxStatus() == 'I' {
			return nil // fn committed
		}
		if _, err := c.Exec(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("committing: %w", err)
		}
		return nil
	})
}

// Migrate applies every embedded migration not yet applied, each in its own transaction,
// holding an advisory lock so concurrent starters apply each version once.
func (s *Store) Migrate(ctx context.Context) error {
	all, err := migrations.All()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection for migrations: %w", err)
	}
	defer conn.Release()
	const lockKey = 0x466c6f65 // "Floe"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("taking migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range all {
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil {
			return fmt.Errorf("checking migration %d: %w", m.Version, err)
		}
		if done {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
