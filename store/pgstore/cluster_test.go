package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/storetest"
)

// openOpts opens a store with opts on url, closed at the end of t.
func openOpts(t *testing.T, url string, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	opts.URL = url
	s, err := pgstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// recorder records a change feed and the resets.
type recorder struct {
	mu      sync.Mutex
	changes []store.Change
	resets  int
}

func (r *recorder) onChange(chs []store.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, chs...)
	r.mu.Unlock()
}

func (r *recorder) onReset() {
	r.mu.Lock()
	r.resets++
	r.mu.Unlock()
}

func (r *recorder) all() []store.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func (r *recorder) resetCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resets
}

// eventually polls cond until it holds or 20 seconds passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeSeqs runs workers goroutines per store, each making n updates that
// write a key "q"+NextSeq, some of them lingering in the transaction after
// drawing the number (a late commit, were commits not in sequence order).
// It returns the keys of the updates that returned nil.
func writeSeqs(t *testing.T, stores []*pgstore.Store, workers, n int) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	written := map[string]bool{}
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					var key string
					err := s.Update(context.Background(), func(tx store.Txn) error {
						key = string(store.AppendUint64([]byte("q"), tx.NextSeq()))
						if rand.IntN(4) == 0 {
							time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
						}
						return tx.Set([]byte(key), fmt.Appendf(nil, "%d/%d/%d", si, w, i))
					})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					written[key] = true
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return written
}

// TestCursorNoSkips is the property behind inbox cursors and long polls:
// writers on two nodes, a reader on a third following a cursor by seq
// with repeated scans from just after the last key it saw. Every key
// written is read once: none skipped (a number drawn earlier, committed
// later, behind the cursor) and none twice.
func TestCursorNoSkips(t *testing.T) {
	url := cluster.URL(t)
	a, b, c := open(t, url, feedNone), open(t, url, feedNone), open(t, url, feedNone)
	var (
		stop atomic.Bool
		read []string
		rerr error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		var cursor []byte
		for {
			finished := stop.Load() // one more scan after the writers are done
			err := c.View(context.Background(), func(r store.Reader) error {
				start := []byte("q")
				if cursor != nil {
					start = append(bytes.Clone(cursor), 0)
				}
				return r.Scan([]byte("q"), start, false, func(k, _ []byte) error {
					read = append(read, string(k))
					cursor = bytes.Clone(k)
					return nil
				})
			})
			if err != nil {
				rerr = err
				return
			}
			if finished {
				return
			}
		}
	}()
	written := writeSeqs(t, []*pgstore.Store{a, b}, 4, 25)
	stop.Store(true)
	<-done
	if rerr != nil {
		t.Fatal(rerr)
	}
	seen := map[string]bool{}
	for _, k := range read {
		if seen[k] {
			t.Errorf("key seq %d read twice", store.Uint64([]byte(k[1:])))
		}
		seen[k] = true
	}
	var skipped []uint64
	for k := range written {
		if !seen[k] {
			skipped = append(skipped, store.Uint64([]byte(k[1:])))
		}
	}
	if len(skipped) > 0 {
		slices.Sort(skipped)
		t.Errorf("the cursor skipped %d of %d keys, committed behind it: seqs %v", len(skipped), len(written), skipped)
	}
}

// feedNone opens a store without a change feed.
var feedNone = storetest.Feed{}

// TestFeedAcrossNodes: a change made through one node reaches another's
// feed, with its value; every node's feed lists every node's changes, in
// commit order, once.
func TestFeedAcrossNodes(t *testing.T) {
	url := cluster.URL(t)
	var ra, rb recorder
	a := openOpts(t, url, pgstore.Options{OnChange: ra.onChange, ChangePrefixes: []string{"q", "r/"}})
	b := openOpts(t, url, pgstore.Options{OnChange: rb.onChange, ChangePrefixes: []string{"q", "r/"}})
	ctx := context.Background()
	if err := a.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set([]byte("r/x"), []byte("hello")); err != nil {
			return err
		}
		return tx.Set([]byte("ignored"), []byte("1"))
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A's change in B's feed", func() bool { return len(rb.all()) > 0 })
	if got := describeChanges(rb.all()); !slices.Equal(got, []string{"r/x=hello"}) {
		t.Errorf("B's feed = %q; want [r/x=hello]", got)
	}
	if !rb.all()[0].Remote || len(ra.all()) != 1 || ra.all()[0].Remote {
		t.Errorf("Remote: %v in B's feed, want true; A's feed %+v, want one change not Remote", rb.all()[0].Remote, ra.all())
	}
	if err := a.Update(ctx, func(tx store.Txn) error { return tx.Delete([]byte("r/x")) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A's delete in B's feed", func() bool { return len(rb.all()) > 1 })
	if got := describeChanges(rb.all()); !slices.Equal(got, []string{"r/x=hello", "-r/x"}) {
		t.Errorf("B's feed = %q; want [r/x=hello -r/x]", got)
	}

	written := writeSeqs(t, []*pgstore.Store{a, b}, 3, 20)
	for me, r := range []*recorder{&ra, &rb} {
		name := string(rune('A' + me))
		for _, c := range r.all() {
			var si, w, i int
			if _, err := fmt.Sscanf(string(c.Value), "%d/%d/%d", &si, &w, &i); err == nil && c.Remote != (si != me) {
				t.Errorf("%s's feed: %s written by node %d has Remote %v", name, c.Value, si, c.Remote)
			}
		}
		eventually(t, name+"'s feed has every change", func() bool { return len(seqKeys(r.all())) >= len(written) })
		keys := seqKeys(r.all())
		if len(keys) != len(written) {
			t.Errorf("%s's feed reported %d seq keys; want %d", name, len(keys), len(written))
		}
		for i := 1; i < len(keys); i++ {
			if keys[i-1] >= keys[i] {
				t.Fatalf("%s's feed out of commit order: seq %d before seq %d", name, keys[i-1], keys[i])
			}
		}
		for _, k := range keys {
			if !written[string(store.AppendUint64([]byte("q"), k))] {
				t.Errorf("%s's feed reported seq %d, never written", name, k)
			}
		}
	}
}

func describeChanges(chs []store.Change) []string {
	var out []string
	for _, c := range chs {
		if c.Deleted {
			out = append(out, "-"+string(c.Key))
			continue
		}
		out = append(out, string(c.Key)+"="+string(c.Value))
	}
	return out
}

// seqKeys returns the sequence numbers of the "q" keys of a feed.
func seqKeys(chs []store.Change) []uint64 {
	var out []uint64
	for _, c := range chs {
		if c.Key[0] == 'q' {
			out = append(out, store.Uint64(c.Key[1:]))
		}
	}
	return out
}

// terminateFeeds ends the change feeds' listening connections, as a
// restart of PostgreSQL would, and returns how many it ended.
func terminateFeeds(t *testing.T, s *pgstore.Store) int {
	t.Helper()
	return execCount(t, s, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '`+pgstore.FeedApplicationName+`'`)
}

// TestFeedCatchUp: after B's listening connection is terminated, B
// reconnects by itself and reports what A wrote meanwhile, in order.
func TestFeedCatchUp(t *testing.T) {
	url := cluster.URL(t)
	var rb recorder
	// A has no feed of its own, but records its changes for B's.
	a := openOpts(t, url, pgstore.Options{ChangePrefixes: []string{"q"}})
	_ = openOpts(t, url, pgstore.Options{OnChange: rb.onChange, ChangePrefixes: []string{"q"}})
	eventually(t, "B listening", func() bool { return execCount(t, a, listeners) == 1 })
	total := 0
	for round := range 5 {
		eventually(t, "B listening again", func() bool { return execCount(t, a, listeners) == 1 })
		if n := terminateFeeds(t, a); n != 1 {
			t.Fatalf("round %d: terminated %d listeners; want B's one", round, n)
		}
		total += len(writeSeqs(t, []*pgstore.Store{a}, 2, 5))
	}
	eventually(t, "B caught up", func() bool { return len(rb.all()) >= total })
	keys := seqKeys(rb.all())
	if len(keys) != total {
		t.Fatalf("B's feed has %d changes; want %d", len(keys), total)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Fatalf("B's feed out of order after reconnects: %d before %d", keys[i-1], keys[i])
		}
	}
	if rb.resetCount() != 0 {
		t.Errorf("B reset %d times; nothing was pruned", rb.resetCount())
	}
}

const listeners = `SELECT count(*) FROM pg_stat_activity WHERE application_name = '` + pgstore.FeedApplicationName + `'`

// execCount runs a query returning one count through s's pool.
func execCount(t *testing.T, s *pgstore.Store, sql string) int {
	t.Helper()
	n, err := pgstore.QueryInt(context.Background(), s, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return int(n)
}

// TestFeedReset: a node that did not read the feed for longer than the
// retention, while another node pruned it, calls OnReset, and then goes
// on reporting new changes.
func TestFeedReset(t *testing.T) {
	url := cluster.URL(t)
	const retention = 100 * time.Millisecond
	a := openOpts(t, url, pgstore.Options{OnChange: func([]store.Change) {}, ChangePrefixes: []string{"q"}, ChangeRetention: retention})
	var rb recorder
	release := make(chan struct{})
	var first sync.Once
	b := openOpts(t, url, pgstore.Options{
		OnChange: func(chs []store.Change) {
			first.Do(func() { <-release }) // B stalls on its first report
			rb.onChange(chs)
		},
		OnReset:         rb.onReset,
		ChangePrefixes:  []string{"q"},
		ChangeRetention: time.Hour, // B prunes nothing
	})
	writeSeqs(t, []*pgstore.Store{a}, 1, 1)
	// While B is stalled, A writes and prunes for several retentions.
	for end := time.Now().Add(5 * retention); time.Now().Before(end); {
		writeSeqs(t, []*pgstore.Store{a}, 1, 5)
		time.Sleep(retention / 10)
	}
	eventually(t, "A pruned", func() bool {
		return execCount(t, a, `SELECT pruned FROM podserver_feed`) > 1
	})
	close(release)
	eventually(t, "B reset", func() bool { return rb.resetCount() > 0 })
	if st := b.Stats(); st.FeedResets == 0 {
		t.Errorf("Stats().FeedResets = 0 after a reset")
	}
	after := writeSeqs(t, []*pgstore.Store{a}, 1, 1)
	eventually(t, "a change after the reset reaches B", func() bool {
		for _, c := range rb.all() {
			if after[string(c.Key)] {
				return true
			}
		}
		return false
	})
}

// TestGroupCommit queues updates behind one that holds the writer, so
// that they run as one batch: a function that fails or panics loses only
// its own writes and callbacks; the others commit together.
func TestGroupCommit(t *testing.T) {
	url := cluster.URL(t)
	var rec recorder
	s := openOpts(t, url, pgstore.Options{OnChange: rec.onChange, ChangePrefixes: []string{"g"}})
	ctx := context.Background()
	hold, running := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	var release sync.Once
	defer release.Do(func() { close(hold) }) // even when the test fails early
	go func() {
		held <- s.Update(ctx, func(tx store.Txn) error {
			close(running)
			<-hold
			return tx.Set([]byte("g-hold"), []byte("1"))
		})
	}()
	<-running // the writer is busy: what follows queues
	const n = 21
	var committed [n]atomic.Bool
	errs := make([]error, n)
	panics := make([]any, n)
	sentinel := errors.New("sentinel")
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(ctx, func(tx store.Txn) error {
				tx.OnCommit(func() { committed[i].Store(true) })
				if err := tx.Set(fmt.Appendf(nil, "g%02d", i), []byte("v")); err != nil {
					return err
				}
				switch {
				case i == 20:
					panic("boom")
				case i%2 == 1:
					return fmt.Errorf("update %d: %w", i, sentinel)
				}
				return nil
			})
		}()
	}
	eventually(t, "every update queued", func() bool { return pgstore.Queued(s) == n })
	before := s.Stats()
	release.Do(func() { close(hold) })
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if b, u := after.Batches-before.Batches, after.Updates-before.Updates; b != 2 || u != 11 {
		t.Errorf("%d batches with %d updates committed; want 2 with 11 (the holder, then the 10 that succeeded together)", b, u)
	}
	var want []string
	for i := range n {
		key := fmt.Sprintf("g%02d", i)
		ok := i%2 == 0 && i != 20
		switch {
		case i == 20 && panics[i] != "boom":
			t.Errorf("update 20: panic %v; want boom", panics[i])
		case i%2 == 1 && !errors.Is(errs[i], sentinel):
			t.Errorf("update %d = %v; want its own error", i, errs[i])
		case ok && errs[i] != nil:
			t.Errorf("update %d = %v", i, errs[i])
		}
		if committed[i].Load() != ok {
			t.Errorf("update %d: OnCommit ran %v; want %v", i, committed[i].Load(), ok)
		}
		var got bool
		if err := s.View(ctx, func(r store.Reader) error {
			_, err := r.Get([]byte(key))
			got = err == nil
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got != ok {
			t.Errorf("key %s kept %v; want %v", key, got, ok)
		}
		if ok {
			want = append(want, key+"=v")
		}
	}
	got := describeChanges(rec.all())
	slices.Sort(got)
	want = append(want, "g-hold=1")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("feed = %q; want %q", got, want)
	}
}

// TestSeqHelpers: LastSeq is the highest number NextSeq returned, on any
// node; EnsureSeqAbove moves the sequence up, never down.
func TestSeqHelpers(t *testing.T) {
	url := cluster.URL(t)
	a, b := open(t, url, feedNone), open(t, url, feedNone)
	ctx := context.Background()
	if n, err := a.LastSeq(ctx); err != nil || n != 0 {
		t.Fatalf("LastSeq of a new store = %d, %v; want 0", n, err)
	}
	next := func(s *pgstore.Store) uint64 {
		var n uint64
		if err := s.Update(ctx, func(tx store.Txn) error { n = tx.NextSeq(); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	next(a)
	last := next(b)
	if n, err := a.LastSeq(ctx); err != nil || n != last {
		t.Errorf("LastSeq = %d, %v; want %d, B's last", n, err, last)
	}
	if err := b.EnsureSeqAbove(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if n := next(a); n != 1001 {
		t.Errorf("NextSeq after EnsureSeqAbove(1000) = %d; want 1001", n)
	}
	if err := a.EnsureSeqAbove(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n := next(b); n != 1002 {
		t.Errorf("NextSeq after EnsureSeqAbove(10) = %d; want 1002 (never lowered)", n)
	}
	if n, err := b.LastSeq(ctx); err != nil || n != 1002 {
		t.Errorf("LastSeq = %d, %v; want 1002", n, err)
	}
}

// TestSync: once Sync returns, every change another node committed before
// it was called has reached this node's OnChange, without waiting for the
// feed's notification; concurrent calls all get there.
func TestSync(t *testing.T) {
	url := cluster.URL(t)
	var rb recorder
	a := openOpts(t, url, pgstore.Options{OnChange: func([]store.Change) {}, ChangePrefixes: []string{"r/"}})
	b := openOpts(t, url, pgstore.Options{OnChange: rb.onChange, ChangePrefixes: []string{"r/"}})
	ctx := context.Background()
	for i := range 50 {
		v := fmt.Sprint(i)
		if err := a.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("r/x"), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.Sync(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		all := rb.all()
		if len(all) == 0 || string(all[len(all)-1].Value) != v {
			t.Fatalf("after Sync, B's feed ends with %q, want r/x=%s", describeChanges(all), v)
		}
	}
}

// TestSeqInMixedBatches: sequence numbers stay unique and in commit order
// when batches mix updates that fail after drawing numbers with updates
// that commit, on two nodes: every committed key built from a number is
// there, no number is used twice, none of a failed update's keys is
// stored, and LastSeq covers them all (TestCursorNoSkips checks the
// order).
func TestSeqInMixedBatches(t *testing.T) {
	url := cluster.URL(t)
	stores := []*pgstore.Store{openOpts(t, url, pgstore.Options{}), openOpts(t, url, pgstore.Options{})}
	ctx := context.Background()
	fail := errors.New("fail after drawing")
	var mu sync.Mutex
	committed := map[uint64]bool{}
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 30 {
					var seqs []uint64
					err := s.Update(ctx, func(tx store.Txn) error {
						seqs = seqs[:0]
						for range 1 + (w+i)%3 {
							q := tx.NextSeq()
							seqs = append(seqs, q)
							if err := tx.Set(store.AppendUint64([]byte("m"), q), fmt.Appendf(nil, "%d/%d/%d", si, w, i)); err != nil {
								return err
							}
						}
						if (w+i)%4 == 0 {
							return fail
						}
						return nil
					})
					switch {
					case errors.Is(err, fail):
					case err != nil:
						t.Error(err)
						return
					default:
						mu.Lock()
						for _, q := range seqs {
							if committed[q] {
								t.Errorf("seq %d committed twice", q)
							}
							committed[q] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	var stored []uint64
	if err := stores[0].View(ctx, func(r store.Reader) error {
		return r.Scan([]byte("m"), nil, false, func(k, _ []byte) error {
			stored = append(stored, store.Uint64(k[1:]))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(committed) {
		t.Errorf("%d keys stored, %d committed", len(stored), len(committed))
	}
	for _, q := range stored {
		if !committed[q] {
			t.Errorf("seq %d stored but its update failed", q)
		}
	}
	last, err := stores[1].LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stored); n > 0 && last < stored[n-1] {
		t.Errorf("LastSeq %d below a committed seq %d", last, stored[n-1])
	}
}
