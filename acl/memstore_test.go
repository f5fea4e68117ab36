package acl

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"

	"podserver/store"
)

// memStore is a small in-memory store.Store for this package's tests, with
// the interface's semantics: Update calls run one at a time and see every
// earlier commit, a failed Update keeps nothing, OnCommit callbacks run
// after a successful commit, View sees a consistent snapshot.
type memStore struct {
	update sync.Mutex // serializes Update
	mu     sync.RWMutex
	data   map[string][]byte
	seq    uint64
	closed bool
}

func newMemStore() *memStore {
	return &memStore{data: make(map[string][]byte)}
}

func (m *memStore) View(ctx context.Context, fn func(r store.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return store.ErrClosed
	}
	return fn(&memTxn{base: m.data})
}

func (m *memStore) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.update.Lock()
	defer m.update.Unlock()
	m.mu.RLock()
	closed, seq := m.closed, m.seq
	m.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	// Only Update writes m.data and Updates are serialized, so reading the
	// base without m.mu while fn runs is race-free.
	tx := &memTxn{base: m.data, writes: make(map[string][]byte), seq: seq}
	if err := fn(tx); err != nil {
		return err
	}
	m.mu.Lock()
	for k, v := range tx.writes {
		if v == nil {
			delete(m.data, k)
		} else {
			m.data[k] = v
		}
	}
	m.seq = tx.seq
	m.mu.Unlock()
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

func (m *memStore) Close() error {
	m.update.Lock()
	defer m.update.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// memTxn reads base overlaid with its own writes (nil value = deleted).
type memTxn struct {
	base     map[string][]byte
	writes   map[string][]byte
	seq      uint64
	onCommit []func()
}

func (t *memTxn) lookup(k string) ([]byte, bool) {
	if v, ok := t.writes[k]; ok {
		return v, v != nil
	}
	v, ok := t.base[k]
	return v, ok
}

func (t *memTxn) Get(key []byte) ([]byte, error) {
	v, ok := t.lookup(string(key))
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTxn) Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) error) error {
	var keys []string
	for k := range t.base {
		if _, ok := t.lookup(k); ok && strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	for k, v := range t.writes {
		if _, inBase := t.base[k]; !inBase && v != nil && strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	for _, k := range keys {
		if start != nil {
			if !reverse && k < string(start) || reverse && k > string(start) {
				continue
			}
		}
		v, _ := t.lookup(k)
		if err := fn([]byte(k), bytes.Clone(v)); err != nil {
			if err == store.ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *memTxn) Set(key, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	t.writes[string(key)] = bytes.Clone(value)
	return nil
}

func (t *memTxn) Delete(key []byte) error {
	t.writes[string(key)] = nil
	return nil
}

func (t *memTxn) NextSeq() uint64 {
	t.seq++
	return t.seq
}

func (t *memTxn) OnCommit(fn func()) {
	t.onCommit = append(t.onCommit, fn)
}

var _ store.Store = (*memStore)(nil)
