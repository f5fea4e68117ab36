package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// maxKeySize is the longest key Badger accepts.
const maxKeySize = 65000

// write is one buffered write: a value, or a deletion.
type write struct {
	val []byte
	del bool
}

// writeSet is a set of buffered writes, at most one per key.
type writeSet struct {
	m map[string]write
	// sorted holds keys of m in ascending order once a scan has asked for
	// them (built); added holds the keys put since, not in sorted. A scan
	// sorts only added and merges it into a new slice, so a writer that
	// scans between its puts pays for its new keys, not for all of them
	// again, and a scan in progress can keep using the old slice.
	sorted []string
	added  []string
	built  bool
}

func newWriteSet() *writeSet {
	return &writeSet{m: make(map[string]write)}
}

func (ws *writeSet) put(k string, w write) {
	if _, ok := ws.m[k]; !ok && ws.built {
		ws.added = append(ws.added, k)
	}
	ws.m[k] = w
}

// merge adds every write of o to ws, replacing writes to the same keys.
func (ws *writeSet) merge(o *writeSet) {
	for k, w := range o.m {
		ws.put(k, w)
	}
}

// keysIn returns the keys k with lo <= k < hi (hi nil: no upper bound) in
// ascending order. The caller must not modify the slice.
func (ws *writeSet) keysIn(lo, hi []byte) []string {
	if len(ws.m) == 0 {
		return nil
	}
	switch {
	case !ws.built:
		sorted := make([]string, 0, len(ws.m))
		for k := range ws.m {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		ws.sorted, ws.built = sorted, true
	case len(ws.added) > 0:
		slices.Sort(ws.added)
		ws.sorted = mergeSorted(ws.sorted, ws.added)
		ws.added = ws.added[:0]
	}
	i, _ := slices.BinarySearch(ws.sorted, string(lo))
	j := len(ws.sorted)
	if hi != nil {
		j, _ = slices.BinarySearch(ws.sorted, string(hi))
	}
	if i >= j {
		return nil
	}
	return ws.sorted[i:j:j]
}

// mergeSorted returns a new slice holding the ascending, disjoint a and b
// in ascending order.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// overlay is a Reader showing the writes of ws on top of base. The writer
// stacks two: a function's own writes over the batch's writes over a Badger
// snapshot.
type overlay struct {
	base ranger
	ws   *writeSet
}

// Get implements Reader.
func (o *overlay) Get(key []byte) ([]byte, error) {
	if w, ok := o.ws.m[string(key)]; ok {
		if w.del {
			return nil, ErrNotFound
		}
		return bytes.Clone(w.val), nil
	}
	return o.base.Get(key)
}

// Scan implements Reader.
func (o *overlay) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	return scan(o, prefix, start, reverse, fn)
}

// scanRange merges the buffered keys of the range into the base scan: before
// each base key it emits the buffered keys that come earlier in scan order;
// a buffered key equal to the base key replaces it (or hides it, if it is a
// deletion); buffered keys after the last base key are emitted at the end.
func (o *overlay) scanRange(prefix, lo, hi []byte, reverse bool, fn func(k, v []byte) error) error {
	keys := o.ws.keysIn(lo, hi)
	if len(keys) == 0 {
		return o.base.scanRange(prefix, lo, hi, reverse, fn)
	}
	i := 0 // buffered keys consumed, in scan order
	next := func() string {
		if reverse {
			return keys[len(keys)-1-i]
		}
		return keys[i]
	}
	emit := func(k string) error {
		// Looked up now, not when the scan began: fn may have written since.
		if w := o.ws.m[k]; !w.del {
			return fn([]byte(k), w.val)
		}
		return nil
	}
	err := o.base.scanRange(prefix, lo, hi, reverse, func(k, v []byte) error {
		for i < len(keys) {
			bk := next()
			c := compareKey(bk, k)
			if reverse {
				c = -c
			}
			if c > 0 {
				break // bk comes after k
			}
			i++
			if c == 0 {
				return emit(bk)
			}
			if err := emit(bk); err != nil {
				return err
			}
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	for ; i < len(keys); i++ {
		if err := emit(next()); err != nil {
			return err
		}
	}
	return nil
}

// compareKey compares a and b like bytes.Compare, without allocating.
func compareKey(a string, b []byte) int {
	switch {
	case a == string(b):
		return 0
	case a < string(b):
		return -1
	}
	return 1
}

// txn is the Txn an Update function runs against: its own writes buffered in
// an overlay over the batch's view. It is used only on the writer goroutine
// and must not be used after the function returns.
type txn struct {
	overlay
	w        *writer
	usedSeq  bool
	onCommit []func()
}

// Set implements Txn.
func (t *txn) Set(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	t.ws.put(string(key), write{val: bytes.Clone(value)})
	return nil
}

// Delete implements Txn.
func (t *txn) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	t.ws.put(string(key), write{del: true})
	return nil
}

// NextSeq implements Txn.
func (t *txn) NextSeq() uint64 {
	t.usedSeq = true
	t.w.seq++
	return t.w.seq
}

// OnCommit implements Txn.
func (t *txn) OnCommit(fn func()) {
	t.onCommit = append(t.onCommit, fn)
}

// checkKey rejects keys Badger would refuse at commit time, so that the
// function that wrote them sees the error.
func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("store: empty key")
	case len(key) > maxKeySize:
		return fmt.Errorf("store: key of %d bytes exceeds %d", len(key), maxKeySize)
	case bytes.HasPrefix(key, []byte("!badger!")):
		return fmt.Errorf("store: key %q uses Badger's reserved prefix", key[:8])
	}
	return nil
}
