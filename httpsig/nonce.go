package httpsig

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// NonceCache remembers the nonces of verified signatures for as long as a
// signature could still be accepted, so that a replayed request is refused.
// A durable implementation (one that survives a restart) lives outside this
// package, which imports no storage. Implementations must be safe for
// concurrent use.
type NonceCache interface {
	// Add records key until the time until and reports true, or reports
	// false when key is already recorded and has not expired at now. An
	// error means the cache could not tell (a storage failure); Verify then
	// fails without accepting the signature.
	Add(ctx context.Context, key string, now, until time.Time) (bool, error)
}

// DefaultNonceCacheSize is the capacity of the cache a Verifier makes when
// its Nonces field is nil.
const DefaultNonceCacheSize = 1 << 18

// MemoryNonceCache is a bounded in-memory NonceCache. Entries leave it when
// they expire; when it is full, the entry closest to expiry is dropped
// first, which narrows (but does not open) the replay window, because the
// time checks of Verify still refuse any signature older than MaxAge.
type MemoryNonceCache struct {
	max int

	mu      sync.Mutex
	entries map[string]time.Time // key -> until; exactly the keys in byExp
	byExp   expiryHeap
}

// NewMemoryNonceCache returns an empty cache holding at most max nonces
// (DefaultNonceCacheSize when max <= 0).
func NewMemoryNonceCache(max int) *MemoryNonceCache {
	if max <= 0 {
		max = DefaultNonceCacheSize
	}
	return &MemoryNonceCache{max: max, entries: make(map[string]time.Time)}
}

// Add implements NonceCache. It never fails.
func (c *MemoryNonceCache) Add(_ context.Context, key string, now, until time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drop expired entries; what is left has not expired.
	for len(c.byExp) > 0 && !c.byExp[0].until.After(now) {
		e := heap.Pop(&c.byExp).(expiry)
		delete(c.entries, e.key)
	}
	if _, seen := c.entries[key]; seen {
		return false, nil
	}
	if !until.After(now) {
		return true, nil // already expired: nothing to remember
	}
	for len(c.entries) >= c.max {
		e := heap.Pop(&c.byExp).(expiry)
		delete(c.entries, e.key)
	}
	c.entries[key] = until
	heap.Push(&c.byExp, expiry{key: key, until: until})
	return true, nil
}

// Len returns the number of nonces held.
func (c *MemoryNonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// expiry is one cache entry in the heap.
type expiry struct {
	key   string
	until time.Time
}

// expiryHeap is a min-heap of entries by expiry time.
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
