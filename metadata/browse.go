package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChunksInTime returns up to max index rows of a queue that may hold messages stored in
// [from, to], in offset order (newest first: from the end). Store times grow with offsets
// except for messages appended by reference (retries, dead letters, redrives), so walking
// by offset from the right end reads few rows for a recent window.
func (s *Store) ChunksInTime(ctx context.Context, queueRef int64, from, to time.Time, newestFirst bool, max int) ([]Chunk, error) {
	order := "ASC"
	if newestFirst {
		order = "DESC"
	}
	var out []Chunk
	err := s.observe("chunks_in_time", func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+chunkColumns+` FROM chunks c JOIN segments s ON s.id = c.segment_id
			WHERE c.queue_ref = $1 AND c.max_store_time >= $2 AND c.min_store_time <= $3
			ORDER BY c.first_offset `+order+` LIMIT $4`, queueRef, from, to, max)
		if err != nil {
			return fmt.Errorf("reading chunks of queue %d in time: %w", queueRef, err)
		}
		out, err = pgx.CollectRows(rows, scanChunk)
		return err
	})
	return out, err
}
