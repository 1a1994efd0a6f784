package reader

import "sync"

// Waker wakes waiting receives when something they wait for may have happened: a commit
// to their topic (from any ingest node, through Postgres notifications) or an ack in their
// group (orderly groups wait for those).
type Waker struct {
	mu       sync.Mutex
	watchers map[string]map[*Watch]struct{}
}

// NewWaker returns a waker with no watchers.
func NewWaker() *Waker { return &Waker{watchers: map[string]map[*Watch]struct{}{}} }

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

// Wake wakes every watcher of key.
func (w *Waker) Wake(key string) {
	w.mu.Lock()
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
