package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RenewItem is a delivered message whose hidden time a renewal extends (see
// RenewDeliveries).
type RenewItem struct {
	DeliveryID int64
	Version    int
	Offset     int64
	// Extend is how long from now the message stays hidden.
	Extend time.Duration
}

// RenewDeliveries extends the hidden time of delivery rows in ONE statement, for the
// receipts that auto-renewing push consumers hold: a row is extended (never shortened)
// only while it is the version the receipt names, is still hidden, and the message is not
// finished; receipts stay valid, as the row's id and version do not change. Rows another
// transaction holds (an ack in progress) are skipped, not waited for, so this never waits
// on or deadlocks with receives and acks; the caller asks again. It returns the new hidden
// time of each row extended.
//
// Messages claimed by one look share a row, so extending a row for one consumer's message
// extends the row's other open messages as well, until that message is settled.
func (s *Store) RenewDeliveries(ctx context.Context, items []RenewItem) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	if len(items) == 0 {
		return out, nil
	}
	ids := make([]int64, len(items))
	versions := make([]int32, len(items))
	offs := make([]int64, len(items))
	secs := make([]float64, len(items))
	for i, it := range items {
		ids[i], versions[i], offs[i], secs[i] = it.DeliveryID, int32(it.Version), it.Offset, it.Extend.Seconds()
	}
	err := s.observe("deliveries_renew", func() error {
		rows, err := s.pool.Query(ctx, `WITH t AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::float8[]) AS t(id, version, off, secs)),
			live AS (SELECT d.id, max(t.version) AS version, max(t.secs) AS secs FROM t JOIN deliveries d ON d.id = t.id AND d.version = t.version
				WHERE d.visible_at > now() AND t.off >= d.first_offset AND t.off < d.first_offset + d.record_count
				  AND get_bit(d.done, (t.off - d.first_offset)::int) = 0
				GROUP BY d.id),
			locked AS (SELECT d.id FROM deliveries d WHERE d.id IN (SELECT id FROM live) ORDER BY d.id FOR UPDATE SKIP LOCKED)
			UPDATE deliveries d SET visible_at = greatest(d.visible_at, now() + make_interval(secs => live.secs))
			FROM live WHERE d.id = live.id AND d.version = live.version AND d.visible_at > now() AND d.id IN (SELECT id FROM locked)
			RETURNING d.id, d.visible_at`, ids, versions, offs, secs)
		if err != nil {
			return fmt.Errorf("renewing deliveries: %w", err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
			id int64
			at time.Time
		}, error) {
			var v struct {
				id int64
				at time.Time
			}
			err := r.Scan(&v.id, &v.at)
			return v, err
		})
		if err != nil {
			return fmt.Errorf("renewing deliveries: %w", err)
		}
		for _, g := range got {
			out[g.id] = g.at
		}
		return nil
	})
	return out, err
}
