package reader

import "sync"

// Waker wakes waiting receives when something they wait for may have happened: a commit
// to their topic (from any ingest node, through Postgres notifications) or an ack in their
// group (orderly groups wait for those).
//
// It also counts wake-ups per key (Gen), so that a receive gate can tell whether anything
// happened since it last looked in Postgres without keeping a watch open in between.
type Waker struct {
	mu       sync.Mutex
	watchers map[string]map[*Watch]struct{}
	gens     map[string]uint64
	// allGen counts WakeAll calls and resets of gens; it is part of every Gen.
	allGen uint64
}

// maxGenKeys bounds the keys whose wake-ups are counted; past it the counts restart, and
// allGen moves on so that no gate mistakes the restart for "nothing happened".
const maxGenKeys = 100_000

// NewWaker returns a waker with no watchers.
func NewWaker() *Waker {
	return &Waker{watchers: map[string]map[*Watch]struct{}{}, gens: map[string]uint64{}}
}

// Watch is one waiting receive's subscription; C gets a value when woken.
type Watch struct {
	C    chan struct{}
	w    *Waker
	keys []string
}

// Watch starts watching keys (topic names, group names).
func (w *Waker) Watch(keys ...string) *Watch {
	wt := &Watch{C: make(chan struct{}, 1), w: w, keys: keys}
	w.mu.Lock()
	for _, k := range keys {
		m := w.watchers[k]
		if m == nil {
			m = map[*Watch]struct{}{}
			w.watchers[k] = m
		}
		m[wt] = struct{}{}
	}
	w.mu.Unlock()
	return wt
}

// Close stops watching.
func (wt *Watch) Close() {
	wt.w.mu.Lock()
	for _, k := range wt.keys {
		delete(wt.w.watchers[k], wt)
		if len(wt.w.watchers[k]) == 0 {
			delete(wt.w.watchers, k)
		}
	}
	wt.w.mu.Unlock()
}

// Gen returns a number that changes whenever one of keys is woken (or everything is).
func (w *Waker) Gen(keys ...string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.allGen
	for _, k := range keys {
		g += w.gens[k]
	}
	return g
}

// Wake wakes every watcher of key.
func (w *Waker) Wake(key string) {
	w.mu.Lock()
	if _, ok := w.gens[key]; !ok && len(w.gens) >= maxGenKeys {
		clear(w.gens)
		// Every Gen was at least allGen plus the cleared counts; jump past all of them.
		w.allGen += 1 << 40
	}
	w.gens[key]++
	for wt := range w.watchers[key] {
		select {
		case wt.C <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}

// WakeAll wakes every watcher (after a lost notification connection, say).
func (w *Waker) WakeAll() {
	w.mu.Lock()
	w.allGen++
	for _, m := range w.watchers {
		for wt := range m {
			select {
			case wt.C <- struct{}{}:
			default:
			}
		}
	}
	w.mu.Unlock()
}
