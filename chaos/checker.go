package chaos

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Window is how long produce and receive stayed unavailable around one fault: the longest
// stretch, overlapping the fault or the 3 s after its heal, between two successful
// requests of that kind.
type Window struct {
	Fault   FaultEvent
	Produce time.Duration
	Receive time.Duration
}

// KindCounts are one message kind's volume and losses.
type KindCounts struct {
	// Sent counts distinct messages; Acked those acknowledged (for transactions: whose
	// commit was acknowledged); Maybe those whose every attempt failed.
	Sent, Acked, Maybe, Rejected int
	// Stored counts the kind's messages (copies) found by the final read.
	Stored int
	// Lost counts acknowledged messages missing from the final read.
	Lost int
	// Undelivered counts stored messages never delivered to the kind's group.
	Undelivered int
	// Deliveries counts deliveries to the kind's group.
	Deliveries int
}

// Report is the checker's verdict on a History: volume, every invariant's violation
// count (each must be 0), duplicates with their bound, and unavailability.
type Report struct {
	Kinds map[Kind]*KindCounts
	// Retried counts messages that took more than one send attempt.
	Retried int
	// TxCommitted and TxRolledBack count transactions by the outcome the client saw.
	TxCommitted, TxRolledBack int
	// Faults counts applied faults; FaultErrors those whose apply or heal failed.
	Faults, FaultErrors int

	// Lost: acknowledged messages missing from the final read (invariant 1).
	Lost int
	// Undelivered: stored messages never delivered to their group after the final heal
	// (invariant 6, at-least-once).
	Undelivered int
	// Corrupted: bodies, stored or delivered, that are not what was sent.
	Corrupted int
	// OffsetViolations: offsets missing from or repeated in a queue, out of order, an
	// acknowledged message not at the offset its ack named, one producer's acked offsets
	// not increasing, or one (queue, offset) naming two messages (invariants 2 and 3).
	OffsetViolations int
	// FIFOViolations: messages of an orderly group delivered before an earlier message of
	// their message group could have been acked (invariant 5).
	FIFOViolations int
	// EarlyDeliveries: delayed messages delivered before their delivery time (invariant 4).
	EarlyDeliveries int
	// HalfBeforeCommit: transactional messages delivered before any commit was asked for.
	HalfBeforeCommit int
	// HalfAfterRollback: messages of rolled-back transactions seen at all.
	HalfAfterRollback int
	// RedeliveredAfterAck: deliveries of a message after an ack of it was answered OK.
	RedeliveredAfterAck int
	// ReadErrors: queue ranges the final read could not get.
	ReadErrors int

	// StoredDuplicates counts extra stored copies of a message; StoredDuplicateBound is
	// how many extra copies the producers' retries allow (attempts beyond the first), and
	// UnexplainedStoredDuplicates the copies beyond each message's own bound.
	StoredDuplicates, StoredDuplicateBound, UnexplainedStoredDuplicates int
	// DeliveryDuplicates counts deliveries of a (queue, offset) beyond its first;
	// DeliveryRetries counts deliveries not acked OK (dropped on purpose, ack failed or
	// expired): each one allows one more delivery.
	DeliveryDuplicates, DeliveryRetries int

	// Windows is the unavailability around each fault.
	Windows []Window
	// Injected counts losses the harness caused on purpose.
	Injected int
	// MergedSegments is History.MergedSegments.
	MergedSegments int
	// Examples holds a few instances of each violation, by counter name.
	Examples map[string][]string
}

// Failures lists the violated invariants; an empty list means the run passed.
func (r *Report) Failures() []string {
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%s: %d", what, n))
		}
	}
	add(r.Lost, "acknowledged messages lost")
	add(r.Undelivered, "stored messages never delivered")
	add(r.Corrupted, "corrupted bodies")
	add(r.OffsetViolations, "offset violations")
	add(r.FIFOViolations, "FIFO order violations")
	add(r.EarlyDeliveries, "delayed messages delivered early")
	add(r.HalfBeforeCommit, "half messages seen before commit")
	add(r.HalfAfterRollback, "half messages seen after rollback")
	add(r.RedeliveredAfterAck, "redelivered after an OK ack")
	add(r.UnexplainedStoredDuplicates, "stored duplicates beyond retries")
	add(r.ReadErrors, "final read errors")
	return out
}

type loc struct {
	topic  string
	queue  int
	offset int64
}

func (l loc) String() string { return fmt.Sprintf("%s/%d@%d", l.topic, l.queue, l.offset) }

// Check judges a History.
func Check(h *History) *Report {
	r := &Report{Kinds: map[Kind]*KindCounts{}, Examples: map[string][]string{}}
	example := func(key, format string, args ...any) {
		if len(r.Examples[key]) < 5 {
			r.Examples[key] = append(r.Examples[key], fmt.Sprintf(format, args...))
		}
	}
	for _, k := range Kinds {
		r.Kinds[k] = &KindCounts{}
	}
	runOf := map[string]TopicRun{}
	for _, t := range h.Topics {
		runOf[t.Topic] = t
	}
	sent := map[string]*SentMessage{}
	for _, m := range h.Sent {
		sent[m.UID] = m
	}
	r.Faults = len(h.Faults)
	for _, f := range h.Faults {
		if f.Err != "" {
			r.FaultErrors++
		}
	}
	r.Injected = len(h.Injections)
	r.MergedSegments = h.MergedSegments

	// Transactions: what the client saw, and the earliest moment any commit was asked for.
	committed := map[string]bool{}
	commitAsked := map[string]time.Time{}
	for _, t := range h.Txs {
		if t.Committed() {
			r.TxCommitted++
		}
		for _, a := range t.RollbackAttempts {
			if a.OK() {
				r.TxRolledBack++
				break
			}
		}
		for _, uid := range t.UIDs {
			if t.Committed() {
				committed[uid] = true
			}
			for _, a := range t.CommitAttempts {
				if at, ok := commitAsked[uid]; !ok || a.Start.Before(at) {
					commitAsked[uid] = a.Start
				}
			}
		}
	}

	// Volume per kind.
	for _, m := range h.Sent {
		kc := r.Kinds[m.Kind]
		if kc == nil {
			continue
		}
		kc.Sent++
		if m.Attempts > 1 {
			r.Retried++
		}
		switch m.Status {
		case Acked:
			if m.Kind != KindTx || committed[m.UID] {
				kc.Acked++
			} else {
				kc.Maybe++ // the half was stored, but no commit was acknowledged
			}
		case Maybe:
			kc.Maybe++
		case Rejected:
			kc.Rejected++
		}
	}

	// The final read: bodies, density, and which message each (queue, offset) names.
	names := map[loc]string{}
	copies := map[string][]loc{}
	rolledBackSeen := map[string]bool{}
	for _, topic := range sortedKeys(h.Stored) {
		views := h.Stored[topic]
		kind := runOf[topic].Kind
		byQueue := map[int][]int64{}
		for _, v := range views {
			l := loc{topic, v.QueueID, v.Offset}
			byQueue[v.QueueID] = append(byQueue[v.QueueID], v.Offset)
			uid, ok := parseBody(v.Body)
			m := sent[uid]
			if !ok || m == nil || !bytes.Equal(m.Body, v.Body) {
				r.Corrupted++
				example("Corrupted", "stored %s: body %.60q is not what was sent", l, v.Body)
				if !ok {
					uid = "corrupt:" + l.String()
				}
			}
			if prev, dup := names[l]; dup && prev != uid {
				r.OffsetViolations++
				example("OffsetViolations", "%s read twice with different messages", l)
			}
			names[l] = uid
			copies[uid] = append(copies[uid], l)
			if kc := r.Kinds[kind]; kc != nil {
				kc.Stored++
			}
			if intent, ok := txIntentOf(uid); ok && intent == TxRollback {
				rolledBackSeen[uid] = true
			}
		}
		for _, q := range h.Queues[topic] {
			want := q.MinOffset
			for _, off := range byQueue[q.QueueID] {
				switch {
				case off < want:
					r.OffsetViolations++
					example("OffsetViolations", "%s/%d: offset %d after %d (not increasing)", topic, q.QueueID, off, want-1)
				case off > want:
					r.OffsetViolations += int(off - want)
					example("OffsetViolations", "%s/%d: offsets %d..%d missing", topic, q.QueueID, want, off-1)
					want = off + 1
				default:
					want++
				}
			}
			if want < q.MaxOffset {
				r.OffsetViolations += int(q.MaxOffset - want)
				example("OffsetViolations", "%s/%d: offsets %d..%d (below maxOffset) not readable", topic, q.QueueID, want, q.MaxOffset-1)
			}
		}
	}
	r.ReadErrors = len(h.ReadErrors)
	for _, e := range h.ReadErrors {
		example("ReadErrors", "%s", e)
	}

	// Every acknowledged message exists, at the offset its ack named.
	for _, m := range h.Sent {
		// A transactional message must exist once a commit of it was acknowledged, even
		// when the send's own answer was lost and the commit came through a check.
		mustExist := m.Status == Acked && m.Kind != KindTx || m.Kind == KindTx && committed[m.UID]
		if !mustExist {
			continue
		}
		if len(copies[m.UID]) == 0 {
			r.Lost++
			r.Kinds[m.Kind].Lost++
			if m.Kind == KindNormal || m.Kind == KindFIFO {
				example("Lost", "%s %s acked at %s/%d@%d (id %s) but not stored", m.Kind, m.UID, m.Topic, m.QueueID, m.Offset, m.MessageID)
			} else {
				example("Lost", "%s %s acked (id %q) but not stored", m.Kind, m.UID, m.MessageID)
			}
			continue
		}
		if m.Kind == KindNormal || m.Kind == KindFIFO {
			l := loc{m.Topic, m.QueueID, m.Offset}
			if names[l] != m.UID {
				r.OffsetViolations++
				example("OffsetViolations", "%s acked at %s, which holds %q", m.UID, l, names[l])
			}
		}
	}

	// One producer's acknowledged offsets in a queue increase with its sends.
	type pq struct {
		kind     Kind
		producer int
		topic    string
		queue    int
	}
	acked := map[pq][]*SentMessage{}
	for _, m := range h.Sent {
		if m.Status == Acked && (m.Kind == KindNormal || m.Kind == KindFIFO) {
			k := pq{m.Kind, m.Producer, m.Topic, m.QueueID}
			acked[k] = append(acked[k], m)
		}
	}
	for _, ms := range acked {
		slices.SortFunc(ms, func(a, b *SentMessage) int { return cmp.Compare(a.Seq, b.Seq) })
		for i := 1; i < len(ms); i++ {
			if ms[i].Offset <= ms[i-1].Offset {
				r.OffsetViolations++
				example("OffsetViolations", "producer %d: %s acked at offset %d after %s at %d", ms[i].Producer, ms[i].UID, ms[i].Offset, ms[i-1].UID, ms[i-1].Offset)
			}
		}
	}

	// Deliveries: bodies, offsets, duplicates, delays, transactions.
	type gl struct {
		group string
		loc
	}
	byGL := map[gl][]*Delivery{}
	beforeCommit := map[string]bool{}
	for _, d := range h.Deliveries {
		l := loc{d.Topic, d.QueueID, d.Offset}
		kind := runOf[d.Topic].Kind
		if kc := r.Kinds[kind]; kc != nil {
			kc.Deliveries++
		}
		uid, ok := parseBody(d.Body)
		m := sent[uid]
		if !ok || m == nil || !bytes.Equal(m.Body, d.Body) {
			r.Corrupted++
			example("Corrupted", "delivered %s: body %.60q is not what was sent", l, d.Body)
		}
		if prev, seen := names[l]; seen && prev != uid {
			r.OffsetViolations++
			example("OffsetViolations", "%s delivered as %q but read as %q", l, uid, prev)
		} else if !seen {
			names[l] = uid
		}
		byGL[gl{d.Group, l}] = append(byGL[gl{d.Group, l}], d)
		if m != nil && m.Kind == KindDelay && d.RecvEnd.Before(m.DeliveryTime) {
			r.EarlyDeliveries++
			example("EarlyDeliveries", "%s due %s delivered by %s (%.3fs early)", uid, m.DeliveryTime.Format(time.RFC3339Nano),
				d.RecvEnd.Format(time.RFC3339Nano), m.DeliveryTime.Sub(d.RecvEnd).Seconds())
		}
		if intent, ok := txIntentOf(uid); ok {
			if intent == TxRollback {
				rolledBackSeen[uid] = true
			} else if at, asked := commitAsked[uid]; !asked || d.RecvEnd.Before(at) {
				if !beforeCommit[uid] {
					beforeCommit[uid] = true
					example("HalfBeforeCommit", "%s delivered by %s, commit first asked %s", uid, d.RecvEnd.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
				}
			}
		}
	}
	r.HalfBeforeCommit = len(beforeCommit)
	r.HalfAfterRollback = len(rolledBackSeen)
	for _, uid := range sortedKeys(rolledBackSeen) {
		example("HalfAfterRollback", "%s (its transaction was rolled back) was seen", uid)
	}

	for k, ds := range byGL {
		slices.SortFunc(ds, func(a, b *Delivery) int { return cmp.Or(a.RecvEnd.Compare(b.RecvEnd), cmp.Compare(a.Call, b.Call)) })
		for i, d := range ds {
			if !ackedOK(d) {
				r.DeliveryRetries++
			}
			if i == 0 {
				continue
			}
			r.DeliveryDuplicates++
			for _, prev := range ds[:i] {
				if t, ok := okAckEnd(prev); ok && t.Before(d.RecvStart) {
					r.RedeliveredAfterAck++
					example("RedeliveredAfterAck", "%s to %s: delivered again (attempt %d) at %s after an OK ack at %s",
						k.loc, k.group, d.Attempt, d.RecvStart.Format(time.RFC3339Nano), t.Format(time.RFC3339Nano))
					break
				}
			}
		}
	}

	// Stored duplicates, within each message's retries.
	for uid, ls := range copies {
		extra := len(ls) - 1
		if extra <= 0 {
			continue
		}
		r.StoredDuplicates += extra
		allowed := 0
		if m := sent[uid]; m != nil {
			allowed = m.Attempts - 1
		}
		if extra > allowed {
			r.UnexplainedStoredDuplicates += extra - allowed
			example("UnexplainedStoredDuplicates", "%s stored %d times (%v) after %d attempts", uid, len(ls), ls, allowed+1)
		}
	}
	for _, m := range h.Sent {
		r.StoredDuplicateBound += max(0, m.Attempts-1)
	}

	// At-least-once: every stored message (but rolled-back ones) reached its group.
	for l, uid := range names {
		tr, ok := runOf[l.topic]
		if !ok || len(copies[uid]) == 0 || rolledBackSeen[uid] {
			continue
		}
		if !slices.Contains(copies[uid], l) {
			continue // seen by a delivery only: not a stored message
		}
		if len(byGL[gl{tr.Group, l}]) == 0 {
			r.Undelivered++
			r.Kinds[tr.Kind].Undelivered++
			example("Undelivered", "%s (%s) stored but never delivered to %s", l, uid, tr.Group)
		}
	}

	// FIFO: in an orderly group, a message is delivered only after every earlier message
	// of its message group may have been acked. An ack attempt that started before the
	// receive that returned the later message ended is the only way it could have been.
	for _, tr := range h.Topics {
		if !tr.Orderly {
			continue
		}
		type qg struct {
			queue int
			group string
		}
		offsets := map[qg][]int64{}
		for _, v := range h.Stored[tr.Topic] {
			if v.MessageGroup != "" {
				k := qg{v.QueueID, v.MessageGroup}
				offsets[k] = append(offsets[k], v.Offset)
			}
		}
		never := time.Unix(1<<40, 0)
		for k, offs := range offsets {
			slices.Sort(offs)
			var latestAck time.Time // the latest "earliest possible ack" among earlier offsets
			for i, off := range offs {
				ds := byGL[gl{tr.Group, loc{tr.Topic, k.queue, off}}]
				firstRecv, firstAck := never, never
				for _, d := range ds {
					if d.RecvEnd.Before(firstRecv) {
						firstRecv = d.RecvEnd
					}
					for _, a := range d.Acks {
						if a.mayHaveAcked() && a.Start.Before(firstAck) {
							firstAck = a.Start
						}
					}
				}
				if i > 0 && len(ds) > 0 && !latestAck.Before(firstRecv) {
					r.FIFOViolations++
					example("FIFOViolations", "%s/%d group %s: offset %d delivered by %s before an earlier message could be acked (%s)",
						tr.Topic, k.queue, k.group, off, firstRecv.Format(time.RFC3339Nano), fmtNever(latestAck, never))
				}
				if firstAck.After(latestAck) {
					latestAck = firstAck
				}
			}
		}
	}

	r.Windows = windows(h)
	return r
}

func fmtNever(t, never time.Time) string {
	if !t.Before(never) {
		return "never acked"
	}
	return "first ack sent " + t.Format(time.RFC3339Nano)
}

func ackedOK(d *Delivery) bool {
	_, ok := okAckEnd(d)
	return ok
}

// okAckEnd returns when the first ack of d answered OK.
func okAckEnd(d *Delivery) (time.Time, bool) {
	for _, a := range d.Acks {
		if a.Status == "OK" {
			return a.End, true
		}
	}
	return time.Time{}, false
}

// windows measures, per fault, how long produce and receive were unavailable: the longest
// stretch between two successful requests of that kind (with six producers and six
// consumers busy, successes are normally milliseconds apart) that overlaps the fault or
// the 3 s after its heal. A request that hangs counts as much as one that fails.
func windows(h *History) []Window {
	successes := func(kind string) []time.Time {
		var ok []time.Time
		for _, op := range h.Ops {
			if op.Kind == kind && op.OK {
				ok = append(ok, op.End)
			}
		}
		slices.SortFunc(ok, time.Time.Compare)
		return ok
	}
	longest := func(ok []time.Time, from, to time.Time) time.Duration {
		var best time.Duration
		for i := 0; i+1 < len(ok); i++ {
			if ok[i+1].After(from) && ok[i].Before(to) {
				best = max(best, ok[i+1].Sub(ok[i]))
			}
		}
		return best
	}
	prod, recv := successes("produce"), successes("receive")
	var out []Window
	for _, f := range h.Faults {
		end := f.End
		if end.IsZero() {
			end = f.Start.Add(f.Duration)
		}
		to := end.Add(3 * time.Second)
		out = append(out, Window{Fault: f, Produce: longest(prod, f.Start, to), Receive: longest(recv, f.Start, to)})
	}
	return out
}

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Markdown renders the report as the results table of docs/chaos.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| kind | sent | acked | maybe | rejected | stored | deliveries | lost | undelivered |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, k := range Kinds {
		c := r.Kinds[k]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", k, c.Sent, c.Acked, c.Maybe, c.Rejected, c.Stored, c.Deliveries, c.Lost, c.Undelivered)
	}
	fmt.Fprintf(&b, "\n| check | count | must be |\n| --- | ---: | --- |\n")
	row := func(name string, n int, want string) { fmt.Fprintf(&b, "| %s | %d | %s |\n", name, n, want) }
	row("acknowledged messages lost", r.Lost, "0")
	row("stored messages never delivered (at-least-once)", r.Undelivered, "0")
	row("corrupted bodies", r.Corrupted, "0")
	row("offsets not dense / not monotonic / renamed", r.OffsetViolations, "0")
	row("FIFO order violations (orderly group)", r.FIFOViolations, "0")
	row("delayed messages delivered early", r.EarlyDeliveries, "0")
	row("half messages seen before commit", r.HalfBeforeCommit, "0")
	row("half messages seen after rollback", r.HalfAfterRollback, "0")
	row("redelivered after an OK ack", r.RedeliveredAfterAck, "0")
	row("final read errors", r.ReadErrors, "0")
	row("stored duplicates", r.StoredDuplicates, fmt.Sprintf("≤ %d (send retries)", r.StoredDuplicateBound))
	row("stored duplicates beyond each message's retries", r.UnexplainedStoredDuplicates, "0")
	row("duplicate deliveries", r.DeliveryDuplicates, fmt.Sprintf("counted (%d deliveries not acked OK)", r.DeliveryRetries))
	row("messages retried by producers", r.Retried, "counted")
	row("transactions committed / rolled back", r.TxCommitted, fmt.Sprintf("counted (/ %d)", r.TxRolledBack))
	row("faults applied (apply or heal errors)", r.Faults, fmt.Sprintf("counted (%d errors)", r.FaultErrors))
	if r.MergedSegments >= 0 {
		row("segments written by compactor merges (whole cluster)", r.MergedSegments, "counted")
	}
	if r.Injected > 0 {
		row("losses injected on purpose", r.Injected, "caught above")
	}
	if len(r.Windows) > 0 {
		fmt.Fprintf(&b, "\n| at | fault | target | lasted | produce unavailable | receive unavailable |\n| ---: | --- | --- | ---: | ---: | ---: |\n")
		for _, w := range r.Windows {
			fmt.Fprintf(&b, "| %.1fs | %s | %s | %.1fs | %.1fs | %.1fs |\n", w.Fault.At.Seconds(), w.Fault.Kind, w.Fault.Target,
				w.Fault.End.Sub(w.Fault.Start).Seconds(), w.Produce.Seconds(), w.Receive.Seconds())
		}
	}
	for _, key := range sortedKeys(r.Examples) {
		fmt.Fprintf(&b, "\n%s, for example:\n", key)
		for _, e := range r.Examples[key] {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}
