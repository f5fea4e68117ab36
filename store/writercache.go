package store

import (
	"bytes"
	"errors"
	"strings"
)

// writerCache holds the committed values of the keys under PrefixPod (pod
// records), which update functions read far more often than anything
// changes them: a fan-out batch reads the record of every subscriber's pod
// it writes a copy to, and such a read through Badger's levels cost more
// than the rest of the copy. Only the Badger writer has one. It is the
// store's only writer, so it updates the cache at each commit, with the
// writes committed; a value missing from the cache is read from the
// batch's snapshot, which holds the same committed state. Update functions
// see their own and their batch's pending writes first (overlay), as
// without the cache. Writer goroutine only.
type writerCache struct {
	m map[string]cachedValue
}

// cachedValue is a committed value, or its absence (found false).
type cachedValue struct {
	val   []byte
	found bool
}

// maxWriterCache bounds the cache's entries; past it the cache is emptied.
const maxWriterCache = 100_000

func newWriterCache() *writerCache { return &writerCache{m: make(map[string]cachedValue)} }

// cached reports whether key is one the cache holds.
func cached(key string) bool { return strings.HasPrefix(key, PrefixPod) }

// get returns key's committed value from the cache, or reads it from snap
// (the batch's snapshot of the committed state) and keeps it.
func (c *writerCache) get(snap *snapshot, key []byte) ([]byte, error) {
	if v, ok := c.m[string(key)]; ok {
		if !v.found {
			return nil, ErrNotFound
		}
		return bytes.Clone(v.val), nil
	}
	v, err := snap.Get(key)
	switch {
	case err == nil:
		c.put(string(key), cachedValue{val: bytes.Clone(v), found: true})
	case errors.Is(err, ErrNotFound):
		c.put(string(key), cachedValue{})
	}
	return v, err
}

func (c *writerCache) put(key string, v cachedValue) {
	if _, ok := c.m[key]; !ok && len(c.m) >= maxWriterCache {
		clear(c.m)
	}
	c.m[key] = v
}

// committed records the cached keys ws wrote, once they are committed.
func (c *writerCache) committed(ws *writeSet) {
	for k, w := range ws.m {
		if !cached(k) {
			continue
		}
		if w.del {
			c.put(k, cachedValue{})
		} else {
			c.put(k, cachedValue{val: bytes.Clone(w.val), found: true})
		}
	}
}

// reset empties the cache: after a commit that failed, what Badger holds
// is not known for sure.
func (c *writerCache) reset() { clear(c.m) }

// cachedSnapshot is a batch's snapshot whose Get reads cached keys through
// the writer's cache.
type cachedSnapshot struct {
	*snapshot
	cache *writerCache
}

// Get implements Reader.
func (s cachedSnapshot) Get(key []byte) ([]byte, error) {
	if s.cache != nil && cached(string(key)) {
		return s.cache.get(s.snapshot, key)
	}
	return s.snapshot.Get(key)
}

// scanRange implements ranger.
func (s cachedSnapshot) scanRange(prefix, lo, hi []byte, reverse bool, fn func(k, v []byte) error) error {
	return s.snapshot.scanRange(prefix, lo, hi, reverse, fn)
}

// Scan implements Reader.
func (s cachedSnapshot) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	return scan(s, prefix, start, reverse, fn)
}
