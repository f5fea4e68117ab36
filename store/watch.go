package store

import "sync/atomic"

// Watch is how a cache follows the change feed (Options.OnChange): a
// generation counter that Observe advances whenever a batch of durable
// changes holds one the cache cares about. It is the one mechanism by which
// every cache learns of changes, whoever made them: a handler, a direct
// Update, or (with a shared backend) another node.
//
// The protocol that keeps a cache exact:
//
//  1. Load Generation, then read from the store (a View, or any read that
//     takes its snapshot after the load).
//  2. Keep what was read stamped with that generation.
//  3. Use a kept entry only while Current(its generation) holds.
//
// A relevant write that commits after the snapshot advances the generation
// once it is durable and before its Update returns (the feed runs on the
// writer goroutine before the callers are answered), so an entry read from
// an older snapshot is stale from then on, even when it was stored after
// the advance. A read that starts after the writer was answered therefore
// sees the write. Watches do not track keys: any relevant change makes
// every entry stale, so the relevance test should let through only what
// can change a cached answer.
//
// A Watch is safe for concurrent use. Observe must be fed every batch from
// before the first read whose result is kept; a Watch created later starts
// with nothing cached, which is the same.
type Watch struct {
	relevant func(Change) bool
	gen      atomic.Uint64
}

// NewWatch returns a Watch that advances on every change for which relevant
// returns true. relevant runs on the store's writer goroutine: it must be
// fast and must not call the store.
func NewWatch(relevant func(Change) bool) *Watch {
	return &Watch{relevant: relevant}
}

// Observe takes a batch of durable changes, in commit order, and advances
// the generation once if any of them is relevant.
func (w *Watch) Observe(changes []Change) {
	for _, ch := range changes {
		if w.relevant(ch) {
			w.gen.Add(1)
			return
		}
	}
}

// Reset makes every cached entry stale, as a relevant change would. The
// store calls for it (pgstore's Options.OnReset) when the node may have
// missed changes, so that no cache keeps an answer it cannot vouch for.
func (w *Watch) Reset() { w.gen.Add(1) }

// Generation returns the current generation. Load it before the read whose
// result is kept.
func (w *Watch) Generation() uint64 { return w.gen.Load() }

// Current reports whether nothing relevant changed since generation gen was
// loaded.
func (w *Watch) Current(gen uint64) bool { return w.gen.Load() == gen }
