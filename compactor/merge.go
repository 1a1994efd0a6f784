package compactor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/floemq/floe/bloom"
	"github.com/floemq/floe/metadata"
	"github.com/floemq/floe/segment"
)

const (
	// candidateLimit bounds the queues one run considers.
	candidateLimit = 1000
	// leaseBatch is how many queues are leased at once.
	leaseBatch = 32
	// rowLimit bounds the rows one merge reads from the index.
	rowLimit = 200_000
	// coalesceGap: ranges of one object closer than this are read with one GET (the bytes
	// between cost less than another request).
	coalesceGap = 1 << 20
	// maxRangeBytes bounds one coalesced GET.
	maxRangeBytes = 32 << 20
	// maxPieceRaw bounds the raw records of one merged chunk, well inside the format's
	// limit.
	maxPieceRaw = segment.MaxRawChunkSize / 2
)

// Merge runs up to MergesPerRun merges of the queues with work, oldest work first.
func (s *Service) Merge(ctx context.Context) (Report, error) {
	var rep Report
	now := s.cfg.Now()
	p := metadata.CompactionCandidatesParams{
		TargetBytes:       s.cfg.TargetChunkBytes,
		Level0Before:      now.Add(-s.cfg.MergeAge),
		MaxLevel0Segments: s.cfg.MaxSmallSegments,
		Level1Before:      now.Add(-s.cfg.SettleAge),
		Limit:             candidateLimit,
	}
	cands, level0Before, err := s.store.CompactionCandidates(ctx, p)
	if err != nil {
		return rep, err
	}
	plan := planParams{target: s.cfg.TargetChunkBytes, level0Before: level0Before, level1Before: p.Level1Before, budget: s.cfg.MaxMergeBytes}
	// complete: every candidate was seen and every due group merged.
	complete := len(cands) < candidateLimit
	for len(cands) > 0 && rep.Merges < s.cfg.MergesPerRun {
		// Lease queues until their small rows fill one merge.
		var leased []int64
		var estimate int64
		for len(cands) > 0 && estimate < s.cfg.MaxMergeBytes {
			n := min(leaseBatch, len(cands))
			want := make([]int64, n)
			small := map[int64]int64{}
			for i, c := range cands[:n] {
				want[i] = c.QueueRef
				small[c.QueueRef] = c.SmallBytes
			}
			cands = cands[n:]
			got, err := s.store.LeaseAcquire(ctx, metadata.LeaseParams{Holder: s.holder, QueueRefs: want, Now: s.cfg.Now(), TTL: s.cfg.LeaseTTL})
			if err != nil {
				_ = s.store.LeaseRelease(context.WithoutCancel(ctx), s.holder, leased)
				return rep, err
			}
			for _, ref := range got {
				leased = append(leased, ref)
				estimate += small[ref]
			}
		}
		if len(leased) == 0 {
			continue
		}
		// Merge the leased queues until their due work is done: one merge takes at most
		// MaxMergeBytes, and a busy node brings more than that between two runs.
		var all bool
		for {
			var r Report
			r, all, err = s.mergeQueues(ctx, leased, plan)
			rep.add(r)
			if err != nil || all || r.Merges == 0 || rep.Merges >= s.cfg.MergesPerRun || ctx.Err() != nil {
				break
			}
		}
		complete = complete && all
		if rerr := s.store.LeaseRelease(context.WithoutCancel(ctx), s.holder, leased); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return rep, err
		}
	}
	if complete && len(cands) == 0 {
		// Level-1 segments twice past SettleAge had their chance: what small rows they
		// still hold are lone ones no merge will take. Stop searching them.
		if _, err := s.store.SegmentsSettle(ctx, now.Add(-2*s.cfg.SettleAge)); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// mergeQueues merges what is due among the small rows of leased queues: one object per
// output level. all is false when some due work was left for later (limits).
func (s *Service) mergeQueues(ctx context.Context, refs []int64, p planParams) (rep Report, all bool, err error) {
	rows, err := s.store.CompactionRows(ctx, refs, s.cfg.TargetChunkBytes, rowLimit)
	if err != nil {
		return rep, false, err
	}
	oldestFirst(rows)
	groups, all := planMerge(rows, p)
	all = all && len(rows) < rowLimit
	for _, level := range []int{1, 2} {
		var gs []group
		for _, g := range groups {
			if g.level == level {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 {
			continue
		}
		r, err := s.mergeGroups(ctx, level, gs)
		rep.add(r)
		if err != nil {
			return rep, false, err
		}
	}
	return rep, all, nil
}

// oldestFirst orders the queues of rows (each queue's rows stay together, in their order)
// by the creation of their oldest segment: a merge's byte budget then goes to the work that
// waited longest. In the order of queue refs, the first queues of a busy node took the
// whole budget of every run and the last ones were never merged.
func oldestFirst(rows []metadata.CompactionRow) {
	oldest := map[int64]time.Time{}
	for _, r := range rows {
		if t, ok := oldest[r.QueueRef]; !ok || r.SegmentCreatedAt.Before(t) {
			oldest[r.QueueRef] = r.SegmentCreatedAt
		}
	}
	slices.SortStableFunc(rows, func(a, b metadata.CompactionRow) int {
		if c := oldest[a.QueueRef].Compare(oldest[b.QueueRef]); c != 0 {
			return c
		}
		return cmp.Compare(a.QueueRef, b.QueueRef)
	})
}

// group is a run of consecutive rows of one queue that a merge turns into one chunk (or a
// few, if its records exceed maxPieceRaw).
type group struct {
	// level is the level of the object the group is written to.
	level int
	rows  []metadata.CompactionRow
	bytes int64
}

type planParams struct {
	// target: see Config.TargetChunkBytes.
	target int64
	// level0Before: a level-0 group holding a row of a segment created before it is due.
	level0Before time.Time
	// level1Before: a level-1 group of two rows or more, the oldest of a segment created
	// before it, is due.
	level1Before time.Time
	// budget bounds the stored bytes of the groups planned.
	budget int64
}

// planMerge cuts rows (sorted by queue then offset, all shorter than target and below
// MaxSegmentLevel) into the groups that are due, within the budget; complete is false
// when the budget left due groups out.
func planMerge(rows []metadata.CompactionRow, p planParams) (out []group, complete bool) {
	var used int64
	take := func(gs []group) bool {
		for _, g := range gs {
			if used > 0 && used+g.bytes > p.budget {
				return false
			}
			used += g.bytes
			out = append(out, g)
		}
		return true
	}
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].QueueRef == rows[i].QueueRef {
			j++
		}
		for _, level := range []int{0, 1} {
			var run []metadata.CompactionRow
			for _, r := range rows[i:j] {
				if r.Level != level {
					continue
				}
				if len(run) > 0 && run[len(run)-1].End() != r.FirstOffset {
					if !take(groupsOfRun(run, level, p)) {
						return out, false
					}
					run = nil
				}
				run = append(run, r)
			}
			if !take(groupsOfRun(run, level, p)) {
				return out, false
			}
		}
		i = j
	}
	return out, true
}

// groupsOfRun cuts a run of consecutive rows of one level into groups of at least target
// bytes, plus the smaller rest if it is due, written at the next level.
func groupsOfRun(run []metadata.CompactionRow, level int, p planParams) []group {
	var out []group
	cur := group{level: level + 1}
	for _, r := range run {
		cur.rows = append(cur.rows, r)
		cur.bytes += r.ByteLength
		if cur.bytes >= p.target {
			out = append(out, cur)
			cur = group{level: level + 1}
		}
	}
	if len(cur.rows) == 0 {
		return out
	}
	oldest := cur.rows[0].SegmentCreatedAt
	for _, r := range cur.rows {
		if r.SegmentCreatedAt.Before(oldest) {
			oldest = r.SegmentCreatedAt
		}
	}
	due := level == 0 && oldest.Before(p.level0Before) || // moving even a lone row lets its flush segment go
		level == 1 && len(cur.rows) >= 2 && oldest.Before(p.level1Before)
	switch {
	case !due:
	case len(out) > 0:
		// Join the last full group rather than make a small chunk: it stays under twice the
		// target, and every chunk of the run reaches the target.
		last := &out[len(out)-1]
		last.rows = append(last.rows, cur.rows...)
		last.bytes += cur.bytes
	default:
		out = append(out, cur)
	}
	return out
}

// mergeGroups writes the groups into one object of the given level and swaps the index.
func (s *Service) mergeGroups(ctx context.Context, level int, groups []group) (Report, error) {
	var rep Report
	b, err := s.build(ctx, groups)
	if err != nil {
		s.m.merges.WithLabelValues("error").Inc()
		return rep, err
	}
	key := fmt.Sprintf("%s%s/c%d-%s-%d.seg", s.cfg.KeyPrefix, s.cfg.Now().UTC().Format("2006/01/02/15"), level, s.holder, s.seq.Add(1))
	if err := s.store.UploadRegister(ctx, key, s.holder, s.cfg.Now()); err != nil {
		s.m.merges.WithLabelValues("error").Inc()
		return rep, err
	}
	if err := s.bucket.Put(ctx, key, b.object); err != nil {
		s.m.merges.WithLabelValues("error").Inc()
		// Maybe stored anyway: the registration expires and the orphan collector looks.
		return rep, fmt.Errorf("uploading merged segment %s: %w", key, err)
	}
	if s.afterPut != nil {
		if err := s.afterPut(key); err != nil {
			return rep, err
		}
	}
	if s.cfg.SwapDelay > 0 {
		select {
		case <-time.After(s.cfg.SwapDelay):
		case <-ctx.Done():
			return rep, ctx.Err()
		}
	}
	err = s.store.CompactionSwap(ctx, metadata.CompactionSwapParams{
		ObjectKey: key, SizeBytes: int64(len(b.object)), Level: level, Old: b.old, New: b.new, Now: s.cfg.Now(),
	})
	if errors.Is(err, metadata.ErrSwapConflict) {
		// Nothing was indexed: the object is ours alone to drop.
		s.m.merges.WithLabelValues("conflict").Inc()
		s.cfg.Logger.Info("merge lost a race; dropping its object", "key", key, "err", err)
		dctx := context.WithoutCancel(ctx)
		if derr := s.bucket.Delete(dctx, key); derr == nil {
			s.m.deleted.WithLabelValues(reasonConflict).Inc()
			s.m.deletedBytes.WithLabelValues(reasonConflict).Add(float64(len(b.object)))
			_ = s.store.UploadForget(dctx, key)
		}
		return rep, nil
	}
	if err != nil {
		s.m.merges.WithLabelValues("error").Inc()
		return rep, err
	}
	s.m.merges.WithLabelValues("ok").Inc()
	s.m.mergeRows.Add(float64(len(b.old)))
	for l, n := range b.input {
		s.m.mergeInput.WithLabelValues(strconv.Itoa(l)).Add(float64(n))
	}
	s.m.mergeWritten.WithLabelValues(strconv.Itoa(level)).Add(float64(len(b.object)))
	s.cfg.Logger.Debug("merged", "key", key, "level", level, "rows", len(b.old), "chunks", len(b.new), "bytes", len(b.object))
	rep.Merges, rep.RowsMerged, rep.BytesWritten = 1, len(b.old), int64(len(b.object))
	return rep, nil
}

// merged is a merged object and the index change that goes with it.
type merged struct {
	object []byte
	old    []metadata.ChunkRef
	new    []metadata.ChunkIndex
	// input is the stored bytes of the rows replaced, by their level.
	input map[int]int64
}

// storedChunk names the bytes of one stored chunk.
type storedChunk struct {
	key    string
	offset int64
	length int64
}

// build reads the groups' records and encodes them as one object, one chunk per group (or
// per piece of a group too large for one chunk), in group order.
func (s *Service) build(ctx context.Context, groups []group) (merged, error) {
	out := merged{input: map[int]int64{}}
	uses := map[storedChunk]int{}
	for _, g := range groups {
		for _, r := range g.rows {
			uses[storedChunk{r.ObjectKey, r.ByteOffset, r.ByteLength}]++
		}
	}
	decoded := map[storedChunk][]segment.Record{}
	missing := uses
	if s.cfg.Chunks != nil {
		missing = map[storedChunk]int{}
		for sc, n := range uses {
			if recs, ok := s.cfg.Chunks.Cached(sc.key, sc.offset, sc.length); ok {
				decoded[sc] = recs
				s.m.cachedChunks.Inc()
				s.m.cachedBytes.Add(float64(sc.length))
				continue
			}
			missing[sc] = n
		}
	}
	raw, err := s.fetch(ctx, missing)
	if err != nil {
		return out, err
	}
	records := func(r metadata.CompactionRow) ([]segment.Record, error) {
		sc := storedChunk{r.ObjectKey, r.ByteOffset, r.ByteLength}
		recs, ok := decoded[sc]
		if !ok {
			var err error
			// The fetched bytes are the merge's own and outlive no record of theirs.
			recs, err = segment.DecodeOwnedChunk(raw[sc])
			if err != nil {
				return nil, fmt.Errorf("decoding chunk %s@%d+%d: %w", sc.key, sc.offset, sc.length, err)
			}
			decoded[sc] = recs
		}
		// Free what no later row needs.
		if uses[sc]--; uses[sc] == 0 {
			delete(decoded, sc)
			delete(raw, sc)
		}
		if r.Skip < 0 || r.Skip+r.Count > len(recs) {
			return nil, fmt.Errorf("chunk %s@%d holds %d records, index row of queue %d at %d wants %d from %d",
				sc.key, sc.offset, len(recs), r.QueueRef, r.FirstOffset, r.Count, r.Skip)
		}
		return recs[r.Skip : r.Skip+r.Count], nil
	}

	// Chunks are encoded straight into the object: a merge holds its output once. The
	// hint fits merged chunks as large as their sources with room for the last one's
	// worst case, so the buffer rarely grows.
	var stored int64
	for _, g := range groups {
		stored += g.bytes
	}
	w := segment.NewWriter(int(stored + stored/8 + 1<<20))
	for _, g := range groups {
		first := g.rows[0]
		var p piece
		flush := func() error {
			if len(p.recs) == 0 {
				return nil
			}
			if _, err := w.Append(segment.ChunkInput{Topic: first.Topic, QueueID: int32(first.QueueID), LiteTopic: first.LiteTopic, Records: p.recs}); err != nil {
				return err
			}
			out.new = append(out.new, metadata.ChunkIndex{
				QueueRef: first.QueueRef, FirstOffset: p.first, Count: len(p.recs),
				MinStoreTime: p.min, MaxStoreTime: p.max, Bloom: bloom.OfChunk(len(p.recs), func(i int) (string, []string) { return p.recs[i].MessageID, p.recs[i].Keys }),
			})
			p = piece{first: p.first + int64(len(p.recs))}
			return nil
		}
		p.first = first.FirstOffset
		for _, r := range g.rows {
			recs, err := records(r)
			if err != nil {
				return out, err
			}
			for i := range recs {
				size := rawSize(&recs[i])
				if len(p.recs) > 0 && p.raw+size > maxPieceRaw {
					if err := flush(); err != nil {
						return out, err
					}
				}
				p.add(&recs[i], size, r)
			}
			out.old = append(out.old, metadata.ChunkRef{QueueRef: r.QueueRef, FirstOffset: r.FirstOffset, Count: r.Count,
				Skip: r.Skip, SegmentID: r.SegmentID, ByteOffset: r.ByteOffset})
			out.input[r.Level] += r.ByteLength
		}
		if err := flush(); err != nil {
			return out, err
		}
	}
	object, infos, err := w.Finish()
	if err != nil {
		return out, err
	}
	for i := range out.new {
		out.new[i].ByteOffset, out.new[i].ByteLength = infos[i].Offset, infos[i].Length
	}
	out.object = object
	return out, nil
}

// piece is the records of one merged chunk being gathered.
type piece struct {
	first    int64
	recs     []segment.Record
	raw      int
	min, max time.Time
}

// add appends a record read through index row r; the chunk's store times span those of
// the rows it covers.
func (p *piece) add(rec *segment.Record, size int, r metadata.CompactionRow) {
	if len(p.recs) == 0 || r.MinStoreTime.Before(p.min) {
		p.min = r.MinStoreTime
	}
	if len(p.recs) == 0 || r.MaxStoreTime.After(p.max) {
		p.max = r.MaxStoreTime
	}
	p.recs = append(p.recs, *rec)
	p.raw += size
}

// rawSize bounds the encoded size of a record from above.
func rawSize(r *segment.Record) int {
	n := 64 + len(r.MessageID) + len(r.Tag) + len(r.MessageGroup) + len(r.LiteTopic) + len(r.Body)
	for _, k := range r.Keys {
		n += 10 + len(k)
	}
	for k, v := range r.Properties {
		n += 20 + len(k) + len(v)
	}
	return n
}

// fetch reads the stored chunks with as few ranged GETs as it can: per object, chunks
// closer than coalesceGap share one GET.
func (s *Service) fetch(ctx context.Context, chunks map[storedChunk]int) (map[storedChunk][]byte, error) {
	byKey := map[string][]storedChunk{}
	for sc := range chunks {
		byKey[sc.key] = append(byKey[sc.key], sc)
	}
	type span struct {
		key        string
		start, end int64
		chunks     []storedChunk
	}
	var spans []*span
	for key, scs := range byKey {
		slices.SortFunc(scs, func(a, b storedChunk) int {
			return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.length, b.length))
		})
		var cur *span
		for _, sc := range scs {
			end := sc.offset + sc.length
			if cur != nil && sc.offset <= cur.end+coalesceGap && max(end, cur.end)-cur.start <= maxRangeBytes {
				cur.end = max(cur.end, end)
				cur.chunks = append(cur.chunks, sc)
				continue
			}
			cur = &span{key: key, start: sc.offset, end: end, chunks: []storedChunk{sc}}
			spans = append(spans, cur)
		}
	}
	got := make([][]byte, len(spans))
	err := s.parallel(ctx, len(spans), func(ctx context.Context, i int) error {
		sp := spans[i]
		b, err := s.bucket.GetRange(ctx, sp.key, sp.start, sp.end-sp.start)
		if err != nil {
			return fmt.Errorf("reading %s@%d+%d to merge: %w", sp.key, sp.start, sp.end-sp.start, err)
		}
		got[i] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[storedChunk][]byte, len(chunks))
	for i, sp := range spans {
		for _, sc := range sp.chunks {
			out[sc] = got[i][sc.offset-sp.start : sc.offset-sp.start+sc.length]
		}
	}
	return out, nil
}
