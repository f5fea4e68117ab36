package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"podserver/store"
)

// open makes a fresh location and opens it without a change feed.
func open(t *testing.T, b Backend) store.Store {
	t.Helper()
	return b.New(t)(t, Feed{})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func set(t *testing.T, s store.Store, pairs ...string) {
	t.Helper()
	must(t, s.Update(context.Background(), func(tx store.Txn) error {
		for i := 0; i+1 < len(pairs); i += 2 {
			if err := tx.Set([]byte(pairs[i]), []byte(pairs[i+1])); err != nil {
				return err
			}
		}
		return nil
	}))
}

// get reads key in a View; "" and false when absent.
func get(t *testing.T, s store.Store, key string) (string, bool) {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(r store.Reader) error {
		var err error
		v, err = r.Get([]byte(key))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	must(t, err)
	return string(v), true
}

// collect returns the "key=value" pairs a scan yields.
// checkScans compares every scan of r, by each prefix and start ("<nil>"
// for none), forward and reverse, with the model m.
func checkScans(t *testing.T, label string, r store.Reader, m map[string]string, prefixes, starts []string) {
	t.Helper()
	for _, p := range prefixes {
		for _, st := range starts {
			var start []byte
			if st != "<nil>" {
				start = []byte(st)
			}
			for _, rev := range []bool{false, true} {
				got, err := collect(r, []byte(p), start, rev)
				want := model(m, []byte(p), start, rev)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("%sScan(prefix %q, start %q, reverse %v) = %q, %v; want %q", label, p, st, rev, got, err, want)
				}
			}
		}
	}
}

func collect(r store.Reader, prefix, start []byte, reverse bool) ([]string, error) {
	var got []string
	err := r.Scan(prefix, start, reverse, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	})
	return got, err
}

// model answers scans from a map, by sorting.
func model(m map[string]string, prefix, start []byte, reverse bool) []string {
	var keys []string
	for k := range m {
		if !strings.HasPrefix(k, string(prefix)) {
			continue
		}
		if start != nil && !reverse && k < string(start) {
			continue
		}
		if start != nil && reverse && k > string(start) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if reverse {
		slices.Reverse(keys)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}

func testGetSetDelete(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	if _, ok := get(t, s, "a"); ok {
		t.Fatal("a fresh store has key a")
	}
	set(t, s, "a", "1", "b", "")
	if v, ok := get(t, s, "a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q, %v; want 1", v, ok)
	}
	if v, ok := get(t, s, "b"); !ok || v != "" {
		t.Errorf("Get(b) = %q, %v; want an empty value that exists", v, ok)
	}
	must(t, s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Delete([]byte("a")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("never-there")); err != nil {
			return fmt.Errorf("deleting an absent key: %w", err)
		}
		if _, err := tx.Get([]byte("a")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("in-txn Get after Delete = %v; want ErrNotFound", err)
		}
		if err := tx.Set([]byte("c"), []byte("3")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("c")); err != nil || string(v) != "3" {
			return fmt.Errorf("in-txn Get of its own write = %q, %v; want 3", v, err)
		}
		if err := tx.Set([]byte("c"), []byte("33")); err != nil {
			return err
		}
		got, err := collect(tx, nil, nil, false)
		if want := []string{"b=", "c=33"}; err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("in-txn Scan = %q, %v; want %q", got, err, want)
		}
		return nil
	}))
	if _, ok := get(t, s, "a"); ok {
		t.Error("a is still there after Delete")
	}
	if v, _ := get(t, s, "c"); v != "33" {
		t.Errorf("Get(c) = %q; want the txn's last write 33", v)
	}
	if err := s.Update(ctx, func(tx store.Txn) error { return tx.Set(nil, []byte("x")) }); err == nil {
		t.Error("Set of an empty key succeeded")
	}
}

// testGetMany: store.GetMany agrees with Get, key by key, in a View and
// in an update that wrote, rewrote and deleted some of the keys: present,
// empty (non-nil), absent (nil), asked twice.
func testGetMany(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	set(t, s, "a", "1", "b", "", "c", "3")
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("zz"), []byte("c"), []byte("a")}
	show := func(vs [][]byte) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			if v == nil {
				out[i] = "<none>"
			} else {
				out[i] = "=" + string(v)
			}
		}
		return out
	}
	must(t, s.View(ctx, func(rd store.Reader) error {
		vs, err := store.GetMany(rd, keys)
		if want := []string{"=1", "=", "<none>", "=3", "=1"}; err != nil || !slices.Equal(show(vs), want) {
			return fmt.Errorf("in a View, GetMany = %q, %v; want %q", show(vs), err, want)
		}
		return nil
	}))
	must(t, s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set([]byte("zz"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("c")); err != nil {
			return err
		}
		if err := tx.Set([]byte("a"), []byte("11")); err != nil {
			return err
		}
		vs, err := store.GetMany(tx, keys)
		if want := []string{"=11", "=", "=new", "<none>", "=11"}; err != nil || !slices.Equal(show(vs), want) {
			return fmt.Errorf("in an update, GetMany = %q, %v; want %q", show(vs), err, want)
		}
		vs[0][0] = 'X' // a copy: the store must not change
		v, err := tx.Get([]byte("a"))
		if err != nil || string(v) != "11" {
			return fmt.Errorf("Get(a) after changing GetMany's copy = %q, %v", v, err)
		}
		return nil
	}))
}

func testValuesAreCopied(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	v := []byte("orig")
	must(t, s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set([]byte("k"), v); err != nil {
			return err
		}
		copy(v, "XXXX") // the store keeps its own copy
		got, err := tx.Get([]byte("k"))
		if err != nil || string(got) != "orig" {
			return fmt.Errorf("in-txn Get after the caller changed its slice = %q, %v; want orig", got, err)
		}
		got[0] = 'Y' // Get returns a copy
		return nil
	}))
	if got, _ := get(t, s, "k"); got != "orig" {
		t.Errorf("committed value = %q; want orig", got)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16) // 200 KiB
	must(t, s.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("big"), big) }))
	if got, _ := get(t, s, "big"); got != string(big) {
		t.Errorf("a 200 KiB value came back as %d bytes", len(got))
	}
}

// scanKeys are prefix edge cases: 0x00 and 0xff bytes, keys that are
// prefixes of others.
var scanKeys = []string{"", "\x00", "a", "a\x00", "a\x00\x01", "a\xff", "a\xff\xff", "aa", "ab", "b", "b\x00", "\xff", "\xff\x00", "\xff\xff"}

func testScan(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	m := map[string]string{}
	var pairs []string
	for _, k := range scanKeys[1:] { // no empty key
		m[k] = "v" + k
		pairs = append(pairs, k, m[k])
	}
	set(t, s, pairs...)
	starts := append([]string{"<nil>"}, scanKeys...)
	starts = append(starts, "a\x00\x00", "ac", "zz")
	must(t, s.View(ctx, func(r store.Reader) error {
		checkScans(t, "", r, m, scanKeys, starts)
		return nil
	}))
	// The same inside an update, over the store's and the txn's own writes.
	rng := rand.New(rand.NewPCG(3, 4))
	must(t, s.Update(ctx, func(tx store.Txn) error {
		for i := 0; i < 200; i++ {
			k := scanKeys[1+rng.IntN(len(scanKeys)-1)] + string([]byte{byte(rng.IntN(3)) * 0x7f})
			if rng.IntN(3) == 0 {
				delete(m, k)
				if err := tx.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			m[k] = fmt.Sprint(i)
			if err := tx.Set([]byte(k), []byte(m[k])); err != nil {
				return err
			}
		}
		checkScans(t, "in txn: ", tx, m, scanKeys, starts)
		return nil
	}))
	must(t, s.View(ctx, func(r store.Reader) error {
		got, err := collect(r, nil, nil, false)
		if want := model(m, nil, nil, false); err != nil || !slices.Equal(got, want) {
			t.Errorf("after commit: Scan = %q, %v; want %q", got, err, want)
		}
		return nil
	}))
}

func testScanStopAndErrors(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	var pairs []string
	for i := range 600 { // more than one page of any paging backend
		pairs = append(pairs, fmt.Sprintf("k%04d", i), "v")
	}
	set(t, s, pairs...)
	boom := errors.New("boom")
	must(t, s.View(ctx, func(r store.Reader) error {
		n := 0
		err := r.Scan([]byte("k"), nil, false, func(k, _ []byte) error {
			if n++; n == 3 {
				return store.ErrStop
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("ErrStop: Scan = %v after %d keys; want nil after 3", err, n)
		}
		n = 0
		err = r.Scan([]byte("k"), []byte("k0500"), true, func(k, _ []byte) error {
			if n++; n == 2 {
				return fmt.Errorf("wrapped: %w", boom)
			}
			return nil
		})
		if !errors.Is(err, boom) || n != 2 {
			t.Errorf("error from fn: Scan = %v after %d keys; want boom after 2", err, n)
		}
		n = 0
		var last string
		err = r.Scan([]byte("k"), nil, false, func(k, _ []byte) error {
			if string(k) <= last {
				return fmt.Errorf("%q after %q", k, last)
			}
			last = string(k)
			n++
			return nil
		})
		if err != nil || n != 600 {
			t.Errorf("full scan: %v, %d keys; want 600 ascending", err, n)
		}
		return nil
	}))
}

func testScanNested(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	set(t, s, "a1", "x", "a2", "x", "b1", "x")
	must(t, s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set([]byte("a3"), []byte("x")); err != nil {
			return err
		}
		var pairs []string
		err := tx.Scan([]byte("a"), nil, false, func(k, _ []byte) error {
			outer := string(k)
			return tx.Scan([]byte("b"), nil, true, func(k, _ []byte) error {
				pairs = append(pairs, outer+"/"+string(k))
				if _, err := tx.Get([]byte("a1")); err != nil {
					return err
				}
				return tx.Set([]byte("c"+outer), []byte("y"))
			})
		})
		if err != nil {
			return err
		}
		if want := []string{"a1/b1", "a2/b1", "a3/b1"}; !slices.Equal(pairs, want) {
			t.Errorf("nested scan = %q; want %q", pairs, want)
		}
		return nil
	}))
	must(t, s.View(ctx, func(r store.Reader) error {
		got, err := collect(r, []byte("c"), nil, false)
		if want := []string{"ca1=y", "ca2=y", "ca3=y"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("keys written during a scan = %q, %v; want %q", got, err, want)
		}
		return nil
	}))
}

// increment adds 1 to the counter under key, read-modify-write.
func increment(s store.Store, key string) error {
	return s.Update(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte(key))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Set([]byte(key), store.AppendUint64(nil, store.Uint64(v)+1))
	})
}

// Increments runs workers goroutines that each increment the counter under
// key n times, spread over the given stores (several stores on one
// location are several nodes), and checks that none was lost.
func Increments(t *testing.T, stores []store.Store, key string, workers, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if err := increment(stores[w%len(stores)], key); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("increment: %v", err)
	}
	for _, s := range stores {
		var got uint64
		must(t, s.View(context.Background(), func(r store.Reader) error {
			v, err := r.Get([]byte(key))
			got = store.Uint64(v)
			return err
		}))
		if want := uint64(workers * n); got != want {
			t.Errorf("counter = %d after %d increments: %d lost", got, want, want-got)
		}
	}
}

func testSerializableIncrements(t *testing.T, b Backend) {
	Increments(t, []store.Store{open(t, b)}, "counter", 8, 25)
}

// errCustom is an error type the caller matches with errors.As.
type errCustom struct{ n int }

func (e *errCustom) Error() string { return fmt.Sprint("custom ", e.n) }

func testErrorKeepsNothing(t *testing.T, b Backend) {
	ctx := context.Background()
	var mu sync.Mutex
	var changes []store.Change
	s := b.New(t)(t, Feed{Prefixes: []string{"x"}, OnChange: func(ch []store.Change) {
		mu.Lock()
		changes = append(changes, ch...)
		mu.Unlock()
	}})
	set(t, s, "xkeep", "1")
	mu.Lock()
	changes = nil
	mu.Unlock()
	sentinel := errors.New("sentinel")
	committed := false
	err := s.Update(ctx, func(tx store.Txn) error {
		tx.OnCommit(func() { committed = true })
		tx.NextSeq()
		for _, k := range []string{"xnew", "xkeep"} {
			if err := tx.Set([]byte(k), []byte("2")); err != nil {
				return err
			}
		}
		if err := tx.Delete([]byte("xkeep")); err != nil {
			return err
		}
		return sentinel
	})
	if err != sentinel {
		t.Errorf("Update = %v; want the function's error itself", err)
	}
	custom := &errCustom{7}
	err = s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set([]byte("xnew"), []byte("3")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", custom)
	})
	var got *errCustom
	if !errors.As(err, &got) || got != custom {
		t.Errorf("Update = %v; want an error wrapping the function's *errCustom", err)
	}
	if _, ok := get(t, s, "xnew"); ok {
		t.Error("a failed update's write was kept")
	}
	if v, ok := get(t, s, "xkeep"); !ok || v != "1" {
		t.Errorf("xkeep = %q, %v after failed updates; want 1", v, ok)
	}
	if committed {
		t.Error("OnCommit ran for a failed update")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 0 {
		t.Errorf("the change feed reported failed updates: %v", changes)
	}
}

func testPanicKeepsNothing(t *testing.T, b Backend) {
	s := open(t, b)
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("a panic in the update function did not reach the caller")
			}
		}()
		_ = s.Update(context.Background(), func(tx store.Txn) error {
			if err := tx.Set([]byte("p"), []byte("1")); err != nil {
				return err
			}
			panic("in fn")
		})
	}()
	if _, ok := get(t, s, "p"); ok {
		t.Error("a panicking update's write was kept")
	}
	set(t, s, "after", "1") // the store still works
	if _, ok := get(t, s, "after"); !ok {
		t.Error("no update succeeds after a panic")
	}
}

func testOnCommit(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	var order []string
	var seenInView string
	err := s.Update(ctx, func(tx store.Txn) error {
		tx.OnCommit(func() {
			order = append(order, "first")
			// The write is committed: a new snapshot sees it.
			_ = s.View(ctx, func(r store.Reader) error {
				v, err := r.Get([]byte("oc"))
				seenInView = string(v)
				return err
			})
		})
		tx.OnCommit(func() { order = append(order, "second") })
		if len(order) != 0 {
			t.Error("OnCommit ran before the function returned")
		}
		return tx.Set([]byte("oc"), []byte("v"))
	})
	must(t, err)
	if want := []string{"first", "second"}; !slices.Equal(order, want) {
		t.Errorf("callbacks ran %q by the time Update returned; want %q", order, want)
	}
	if seenInView != "v" {
		t.Errorf("a View in OnCommit read %q; want the committed v", seenInView)
	}
}

// feedRecorder records a store's change feed.
type feedRecorder struct {
	mu      sync.Mutex
	batches [][]store.Change
}

func (f *feedRecorder) observe(ch []store.Change) {
	f.mu.Lock()
	f.batches = append(f.batches, ch)
	f.mu.Unlock()
}

func (f *feedRecorder) all() []store.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Change
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}

func (f *feedRecorder) has(key string) bool {
	for _, c := range f.all() {
		if string(c.Key) == key {
			return true
		}
	}
	return false
}

func describe(chs []store.Change) []string {
	out := make([]string, 0, len(chs))
	for _, c := range chs {
		if c.Deleted {
			out = append(out, fmt.Sprintf("-%s(%v)", c.Key, c.Value == nil))
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s", c.Key, c.Value))
	}
	return out
}

func testChangeFeed(t *testing.T, b Backend) {
	ctx := context.Background()
	var f feedRecorder
	s := b.New(t)(t, Feed{OnChange: f.observe, Prefixes: []string{"r", "k"}})
	set(t, s, "r/b", "1", "x/ignored", "1", "r/a", "2", "k1", "3")
	if got, want := describe(f.all()), []string{"k1=3", "r/a=2", "r/b=1"}; !slices.Equal(got, want) {
		t.Errorf("feed after the first update = %q; want %q (watched keys only, in key order)", got, want)
	}
	must(t, s.Update(ctx, func(tx store.Txn) error {
		if err := tx.Delete([]byte("r/a")); err != nil {
			return err
		}
		if err := tx.Set([]byte("r/b"), []byte("first")); err != nil {
			return err
		}
		return tx.Set([]byte("r/b"), []byte("last"))
	}))
	must(t, s.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("y"), nil) })) // nothing watched
	all := f.all()
	if got, want := describe(all), []string{"k1=3", "r/a=2", "r/b=1", "-r/a(true)", "r/b=last"}; !slices.Equal(got, want) {
		t.Errorf("feed = %q; want %q (a deletion with a nil value; one change per key and update, its last write)", got, want)
	}
	// The slices are the callee's to keep: later updates leave them be.
	set(t, s, "r/b", "changed")
	if string(all[2].Value) != "1" || string(all[4].Value) != "last" {
		t.Errorf("kept change values changed under the callee: %q, %q", all[2].Value, all[4].Value)
	}
}

func testChangeFeedCommitOrder(t *testing.T, b Backend) {
	var f feedRecorder
	s := b.New(t)(t, Feed{OnChange: f.observe, Prefixes: []string{"q"}})
	const workers, n = 6, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				var key string
				err := s.Update(context.Background(), func(tx store.Txn) error {
					key = string(store.AppendUint64([]byte("q"), tx.NextSeq()))
					return tx.Set([]byte(key), []byte(fmt.Sprint(w, i)))
				})
				if err != nil {
					t.Error(err)
					return
				}
				// Reported before Update returned.
				if !f.has(key) {
					t.Errorf("update of %x returned before the feed reported it", key)
				}
			}
		}()
	}
	wg.Wait()
	all := f.all()
	if len(all) != workers*n {
		t.Fatalf("feed reported %d changes; want %d", len(all), workers*n)
	}
	// Sequence numbers increase in commit order, so the feed, in commit
	// order, lists them ascending.
	for i := 1; i < len(all); i++ {
		if bytes.Compare(all[i-1].Key, all[i].Key) >= 0 {
			t.Fatalf("feed out of commit order: seq %d reported before seq %d", store.Uint64(all[i-1].Key[1:]), store.Uint64(all[i].Key[1:]))
		}
	}
}

func testNextSeq(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	var first, second, third uint64
	must(t, s.Update(ctx, func(tx store.Txn) error {
		first, second = tx.NextSeq(), tx.NextSeq()
		return nil
	}))
	if first == 0 || second <= first {
		t.Errorf("NextSeq in one txn = %d, %d; want positive and increasing", first, second)
	}
	_ = s.Update(ctx, func(tx store.Txn) error { tx.NextSeq(); return errors.New("fail") })
	must(t, s.Update(ctx, func(tx store.Txn) error { third = tx.NextSeq(); return nil }))
	if third <= second {
		t.Errorf("NextSeq after %d = %d; want greater", second, third)
	}
	// Concurrent updates: all unique.
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				var got uint64
				if err := s.Update(ctx, func(tx store.Txn) error { got = tx.NextSeq(); return nil }); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[got] || got <= third {
					t.Errorf("NextSeq handed out %d twice or not after %d", got, third)
				}
				seen[got] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func testDurability(t *testing.T, b Backend) {
	if !b.Persistent {
		t.Skip("the backend does not persist across reopen")
	}
	ctx := context.Background()
	openLoc := b.New(t)
	s := openLoc(t, Feed{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				k := fmt.Sprintf("d%d-%d", w, i)
				if err := s.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte(k), []byte(k)) }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	set(t, s, "gone", "1")
	must(t, s.Update(ctx, func(tx store.Txn) error { return tx.Delete([]byte("gone")) }))
	must(t, s.Close())
	s = openLoc(t, Feed{})
	must(t, s.View(ctx, func(r store.Reader) error {
		got, err := collect(r, []byte("d"), nil, false)
		if err != nil || len(got) != 40 {
			t.Errorf("after reopen: %d keys, %v; want the 40 acknowledged", len(got), err)
		}
		if _, err := r.Get([]byte("gone")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after reopen a deleted key reads %v; want ErrNotFound", err)
		}
		return nil
	}))
}

func testNextSeqAcrossReopen(t *testing.T, b Backend) {
	if !b.Persistent {
		t.Skip("the backend does not persist across reopen")
	}
	ctx := context.Background()
	openLoc := b.New(t)
	s := openLoc(t, Feed{})
	var last uint64
	for range 5 {
		must(t, s.Update(ctx, func(tx store.Txn) error {
			last = tx.NextSeq()
			return tx.Set(store.AppendUint64([]byte("s"), last), nil)
		}))
	}
	must(t, s.Close())
	s = openLoc(t, Feed{})
	var next uint64
	must(t, s.Update(ctx, func(tx store.Txn) error { next = tx.NextSeq(); return nil }))
	if next <= last {
		t.Errorf("NextSeq after reopen = %d; want more than %d, handed out before", next, last)
	}
}

func testContextAndClose(t *testing.T, b Backend) {
	s := open(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(ctx, func(tx store.Txn) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a done context = %v, ran %v; want context.Canceled, not run", err, ran)
	}
	if err := s.View(ctx, func(store.Reader) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View with a done context = %v; want context.Canceled", err)
	}
	must(t, s.Close())
	if err := s.Update(context.Background(), func(tx store.Txn) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v; want ErrClosed", err)
	}
	if err := s.View(context.Background(), func(store.Reader) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close = %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close = %v; want nil", err)
	}
}
