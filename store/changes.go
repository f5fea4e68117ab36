package store

import "strings"

// Change is one durable write reported to Options.OnChange.
type Change struct {
	// Key is the key written.
	Key []byte
	// Value is the value written; nil for a delete.
	Value []byte
	// Deleted is true when the key was deleted.
	Deleted bool
	// Remote is true when another node sharing the store committed the
	// change (pgstore's cross-node feed). A node's own changes, and all
	// of a store no other node shares, have it false. Effects that one
	// node must have for a change, such as queueing a push notification,
	// follow only the changes that are not Remote.
	Remote bool
}

// changeFeed filters a batch's writes by prefix and hands them to a
// callback. It lives on the writer goroutine.
type changeFeed struct {
	fn       func([]Change)
	prefixes []string
}

func newChangeFeed(fn func([]Change), prefixes []string) *changeFeed {
	if fn == nil || len(prefixes) == 0 {
		return nil
	}
	return &changeFeed{fn: fn, prefixes: prefixes}
}

// report passes the watched writes of the durable requests, in commit
// order, to the callback. Within one request the order of keys is the
// sorted key order.
func (f *changeFeed) report(durable []*request) {
	var out []Change
	for _, r := range durable {
		if r.ws == nil {
			continue
		}
		for _, k := range r.ws.keysIn(nil, nil) {
			if !f.watched(k) {
				continue
			}
			// The request's write set is dropped after its batch, and
			// Badger copied the values when it committed them, so the
			// values are handed over without another copy.
			w := r.ws.m[k]
			out = append(out, Change{Key: []byte(k), Value: w.val, Deleted: w.del})
		}
	}
	if len(out) > 0 {
		f.fn(out)
	}
}

func (f *changeFeed) watched(k string) bool {
	for _, p := range f.prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
