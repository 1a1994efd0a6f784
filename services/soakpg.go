package services

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/bench"
)

// pgSampler reads Postgres sizes over one connection, opened again after a failure.
type pgSampler struct {
	url  string
	conn *pgx.Conn
}

// sample reads the database size and every user table's size and upkeep counters.
func (p *pgSampler) Sample(ctx context.Context) (bench.PgSample, error) {
	if p.conn == nil {
		conn, err := pgx.Connect(ctx, p.url)
		if err != nil {
			return bench.PgSample{}, fmt.Errorf("connecting to Postgres: %w", err)
		}
		p.conn = conn
	}
	s, err := readPgSample(ctx, p.conn)
	if err != nil {
		_ = p.conn.Close(ctx)
		p.conn = nil
	}
	return s, err
}

// close closes the connection, if open.
func (p *pgSampler) close() {
	if p != nil && p.conn != nil {
		_ = p.conn.Close(context.Background())
	}
}

// readPgSample reads the database size and its user tables, largest first.
func readPgSample(ctx context.Context, conn *pgx.Conn) (bench.PgSample, error) {
	var s bench.PgSample
	if err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&s.DatabaseBytes); err != nil {
		return s, fmt.Errorf("reading the database size: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT relname, pg_total_relation_size(relid), n_live_tup, n_dead_tup,
			autovacuum_count, autoanalyze_count
		FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC, relname`)
	if err != nil {
		return s, fmt.Errorf("reading table sizes: %w", err)
	}
	s.Tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (bench.PgTable, error) {
		var t bench.PgTable
		err := r.Scan(&t.Name, &t.Bytes, &t.LiveTuples, &t.DeadTuples, &t.Autovacuums, &t.Autoanalyzes)
		return t, err
	})
	if err != nil {
		return s, fmt.Errorf("reading table sizes: %w", err)
	}
	for _, t := range s.Tables {
		s.DeadTuples += t.DeadTuples
		s.Autovacuums += t.Autovacuums
	}
	return s, nil
}
