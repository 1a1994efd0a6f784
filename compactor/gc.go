package compactor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/floemq/floe/objstore"
)

const (
	// collectBatch is how many segments one collection transaction deletes.
	collectBatch = 500
	// orphanBatch is how many listed keys are checked against the index at once.
	orphanBatch = 1000
	// accountingSettle: a flush's segment row is accounted once it is this old, by when its
	// commit has long finished.
	accountingSettle = time.Minute
	// Cluster-wide jobs and their periods (besides the orphan scan).
	jobSweep        = "sweep"
	jobOrphans      = "orphans"
	jobTransactions = "transactions"
	jobAccounting   = "accounting"
	// sweepEvery: the sweep for segments others unreferenced reads every segment's
	// references, so one compactor of the cluster runs it, this often. (Segments the
	// compactor itself unreferences are marked by the merge or retention that did it.)
	sweepEvery   = time.Minute
	purgeEvery   = 10 * time.Minute
	accountEvery = time.Minute
)

// CollectGarbage deletes segments unreferenced for ReadGrace, and, when this compactor's
// turn comes, orphan objects and finished transactions; it refreshes the storage gauges.
func (s *Service) CollectGarbage(ctx context.Context) (Report, error) {
	var rep Report
	var errs []error
	now := s.cfg.Now()
	if ok, err := s.store.JobClaim(ctx, jobSweep, s.holder, now, sweepEvery); err != nil {
		errs = append(errs, err)
	} else if ok {
		if _, err := s.store.SegmentsMarkUnreferenced(ctx, now); err != nil {
			errs = append(errs, err)
		}
	}
	n, err := s.collectSegments(ctx, now)
	rep.SegmentsDeleted = n
	if err != nil {
		errs = append(errs, err)
	}
	if ok, err := s.store.JobClaim(ctx, jobOrphans, s.holder, now, s.cfg.OrphanScanInterval); err != nil {
		errs = append(errs, err)
	} else if ok {
		n, err := s.collectOrphans(ctx, now)
		rep.OrphansDeleted = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ok, err := s.store.JobClaim(ctx, jobTransactions, s.holder, now, purgeEvery); err != nil {
		errs = append(errs, err)
	} else if ok {
		for {
			n, err := s.store.TransactionsPurge(ctx, now.Add(-s.cfg.TransactionTTL), collectBatch)
			rep.TransactionsPurged += n
			s.m.txPurged.Add(float64(n))
			if err != nil {
				errs = append(errs, err)
			}
			if err != nil || n < collectBatch {
				break
			}
		}
	}
	if ok, err := s.store.JobClaim(ctx, jobAccounting, s.holder, now, accountEvery); err != nil {
		errs = append(errs, err)
	} else if ok {
		if err := s.store.StorageAccount(ctx, accountingSettle); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.refreshGauges(ctx); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// collectSegments deletes the segment rows whose grace period is over and nothing
// references, then their objects.
func (s *Service) collectSegments(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		segs, examined, err := s.store.SegmentsCollect(ctx, now.Add(-s.cfg.ReadGrace), collectBatch)
		if err != nil {
			return total, err
		}
		// The rows are gone: from here an object left behind is an orphan. One delete at a
		// time: nothing waits for them, and the segments one merge freed come due
		// together, hundreds at once, which in parallel compete with the writes and reads
		// in flight for the bucket.
		for _, seg := range segs {
			if err := s.bucket.Delete(ctx, seg.ObjectKey); err != nil {
				return total, fmt.Errorf("deleting %s: %w", seg.ObjectKey, err)
			}
			total++
			s.m.deleted.WithLabelValues(reasonUnreferenced).Inc()
			s.m.deletedBytes.WithLabelValues(reasonUnreferenced).Add(float64(seg.SizeBytes))
		}
		if examined < collectBatch {
			return total, nil
		}
	}
}

// collectOrphans deletes objects under KeyPrefix older than OrphanGrace that no segment
// row names and no live upload claims, and the objects of expired upload registrations.
func (s *Service) collectOrphans(ctx context.Context, now time.Time) (int, error) {
	before := now.Add(-s.cfg.OrphanGrace)
	// Registrations first: once one is gone its merge can no longer be indexed, so the
	// check against the segments table below is final.
	var candidates []string
	seen := map[string]bool{}
	for {
		keys, err := s.store.UploadsExpire(ctx, before, orphanBatch)
		if err != nil {
			return 0, err
		}
		for _, k := range keys {
			if strings.HasPrefix(k, s.cfg.KeyPrefix) {
				candidates = append(candidates, k)
				seen[k] = true
			}
		}
		if len(keys) < orphanBatch {
			break
		}
	}
	sizes := map[string]int64{}
	err := s.bucket.List(ctx, s.cfg.KeyPrefix, func(o objstore.ObjectInfo) error {
		if o.LastModified.Before(before) {
			if !seen[o.Key] {
				candidates = append(candidates, o.Key)
			}
			sizes[o.Key] = o.Size
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing %s: %w", s.cfg.KeyPrefix, err)
	}
	deleted := 0
	for len(candidates) > 0 {
		n := min(orphanBatch, len(candidates))
		orphans, err := s.store.SegmentsUnknown(ctx, candidates[:n], before)
		candidates = candidates[n:]
		if err != nil {
			return deleted, err
		}
		err = s.parallel(ctx, len(orphans), func(ctx context.Context, i int) error {
			if err := s.bucket.Delete(ctx, orphans[i]); err != nil {
				return fmt.Errorf("deleting orphan %s: %w", orphans[i], err)
			}
			s.m.deleted.WithLabelValues(reasonOrphan).Inc()
			s.m.deletedBytes.WithLabelValues(reasonOrphan).Add(float64(sizes[orphans[i]]))
			return nil
		})
		deleted += len(orphans)
		if err != nil {
			return deleted, err
		}
		if len(orphans) > 0 {
			s.cfg.Logger.Info("deleted orphan objects", "count", len(orphans), "first", orphans[0])
		}
	}
	return deleted, nil
}

// refreshGauges sets the storage and backlog gauges from the segments table.
func (s *Service) refreshGauges(ctx context.Context) error {
	st, err := s.store.StorageGet(ctx)
	if err != nil {
		return err
	}
	s.m.storedObjects.Reset()
	s.m.storedBytes.Reset()
	for _, l := range []string{"0", "1", "2"} {
		s.m.storedObjects.WithLabelValues(l)
		s.m.storedBytes.WithLabelValues(l)
	}
	for _, l := range st.Levels {
		s.m.storedObjects.WithLabelValues(strconv.Itoa(l.Level)).Set(float64(l.Objects))
		s.m.storedBytes.WithLabelValues(strconv.Itoa(l.Level)).Set(float64(l.Bytes))
	}
	s.m.unrefObjects.Set(float64(st.UnreferencedObjects))
	s.m.unrefBytes.Set(float64(st.UnreferencedBytes))
	s.m.ingested.Set(float64(st.IngestedBytes))
	s.m.compacted.Set(float64(st.CompactedBytes))
	if st.IngestedBytes > 0 {
		s.m.amplification.Set(float64(st.CompactedBytes) / float64(st.IngestedBytes))
	}
	backlog, err := s.store.CompactionBacklogGet(ctx, s.cfg.TargetChunkBytes)
	if err != nil {
		return err
	}
	s.m.backlogSegs.Set(float64(backlog.Segments))
	age := 0.0
	if !backlog.Oldest.IsZero() {
		age = max(s.cfg.Now().Sub(backlog.Oldest).Seconds(), 0)
	}
	s.m.backlogAge.Set(age)
	return nil
}
