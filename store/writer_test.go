package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdWriter parks the writer goroutine inside an Update until the returned
// channel is closed, so that the Updates issued meanwhile form one batch.
func holdWriter(t testing.TB, s *Badger) chan<- struct{} {
	t.Helper()
	release, started := make(chan struct{}), make(chan struct{})
	go func() {
		err := s.Update(context.Background(), func(Txn) error {
			close(started)
			<-release
			return nil
		})
		if err != nil {
			t.Errorf("holding Update: %v", err)
		}
	}()
	<-started
	return release
}

// waitQueued waits until n requests are queued for the writer.
func waitQueued(t testing.TB, s *Badger, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.w.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(s.w.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchSizes records OnBatch calls.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) add(n int) {
	b.mu.Lock()
	b.sizes = append(b.sizes, n)
	b.mu.Unlock()
}

func (b *batchSizes) get() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes)
}

// TestBatchIsolation runs one batch in which every third function fails: its
// writes and OnCommit callbacks must vanish while the others commit, and
// every caller gets its own function's error.
func TestBatchIsolation(t *testing.T) {
	ctx := context.Background()
	var batches batchSizes
	s := openMem(t, Options{OnBatch: batches.add})
	errFail := errors.New("deliberate failure")
	const n = 99
	release := holdWriter(t, s)
	var committed atomic.Int32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ran := false
			errs[i] = s.Update(ctx, func(tx Txn) error {
				noErr(t, tx.Set(fmt.Appendf(nil, "k%03d", i), []byte("v")))
				// Earlier functions of the batch are visible, failed ones not.
				noErr(t, tx.Scan([]byte("k"), nil, false, func(k, _ []byte) error {
					var j int
					fmt.Sscanf(string(k), "k%03d", &j)
					if j%3 == 0 && j != i {
						t.Errorf("function %d sees key %q of a failed function", i, k)
					}
					return nil
				}))
				tx.OnCommit(func() { ran = true; committed.Add(1) })
				if i%3 == 0 {
					return fmt.Errorf("function %d: %w", i, errFail)
				}
				return nil
			})
			if errs[i] == nil && !ran {
				t.Errorf("Update %d returned before its OnCommit callback ran", i)
			}
		})
	}
	waitQueued(t, s, n)
	close(release)
	wg.Wait()

	for i, err := range errs {
		if want := i%3 == 0; errors.Is(err, errFail) != want || (!want && err != nil) {
			t.Errorf("Update %d = %v", i, err)
		}
	}
	if got := committed.Load(); got != n*2/3 {
		t.Errorf("%d OnCommit callbacks ran; want %d", got, n*2/3)
	}
	if got := batches.get(); !slices.Equal(got, []int{1, n * 2 / 3}) {
		t.Errorf("OnBatch calls = %v; want [1 %d]", got, n*2/3)
	}
	must(t, s.View(ctx, func(r Reader) error {
		for i := range n {
			_, err := r.Get(fmt.Appendf(nil, "k%03d", i))
			if want := i%3 != 0; (err == nil) != want {
				t.Errorf("key %d present = %v; want %v", i, err == nil, want)
			}
		}
		return nil
	}))
}

// TestNextSeq checks that sequence numbers start at 1, increase strictly in
// commit order under concurrency, and keep increasing across reopens, also
// when the last function to take one wrote nothing else.
func TestNextSeq(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	must(t, err)
	var order []uint64 // appended on the writer goroutine, in run order
	var failed sync.Map
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				err := s.Update(ctx, func(tx Txn) error {
					a, b := tx.NextSeq(), tx.NextSeq()
					noErr(t, tx.Set(AppendUint64([]byte("s"), a), nil))
					if (g+i)%5 == 0 {
						failed.Store(a, true)
						return errors.New("fail")
					}
					order = append(order, a, b)
					return nil
				})
				if err != nil && err.Error() != "fail" {
					t.Errorf("Update: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if order[0] != 1 && !isFailed(&failed, 1) {
		t.Errorf("first sequence number %d; want 1", order[0])
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("sequence not increasing in commit order: %d after %d", order[i], order[i-1])
		}
	}
	// Keys built from the numbers list in commit order.
	var listed []uint64
	must(t, s.View(ctx, func(r Reader) error {
		return r.Scan([]byte("s"), nil, false, func(k, _ []byte) error {
			listed = append(listed, Uint64(k[1:]))
			return nil
		})
	}))
	var wantListed []uint64
	for i := 0; i < len(order); i += 2 {
		wantListed = append(wantListed, order[i])
	}
	if !slices.Equal(listed, wantListed) {
		t.Errorf("scan lists %d keys, not in commit order", len(listed))
	}
	last := order[len(order)-1]
	for round := range 3 {
		// Taken by a function that writes nothing else.
		var got uint64
		must(t, s.Update(ctx, func(tx Txn) error { got = tx.NextSeq(); return nil }))
		if got <= last {
			t.Fatalf("round %d: NextSeq = %d after %d", round, got, last)
		}
		last = got
		must(t, s.Close())
		s, err = Open(Options{Dir: dir})
		must(t, err)
	}
	must(t, s.Close())
}

func (w *writer) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

func isFailed(m *sync.Map, seq uint64) bool {
	_, ok := m.Load(seq)
	return ok
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	must(t, err)
	_, err = Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
	must(t, s.Close())
	s, err = Open(Options{Dir: dir})
	must(t, err)
	must(t, s.Close())

	if _, err := Open(Options{}); err == nil {
		t.Error("Open without Dir succeeded")
	}
}

// TestClose checks that Close finishes queued updates, waits for running
// views, and that the store then refuses work.
func TestClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Options{InMemory: true})
	must(t, err)
	release := holdWriter(t, s)
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			errs <- s.Update(ctx, func(tx Txn) error { return tx.Set(fmt.Append(nil, i), nil) })
		}()
	}
	waitQueued(t, s, 10)

	viewing, endView := make(chan struct{}), make(chan struct{})
	go s.View(ctx, func(Reader) error { close(viewing); <-endView; return nil })
	<-viewing

	closed := make(chan error)
	go func() { closed <- s.Close() }()
	// Close refuses new updates at once, but waits for the queued ones...
	for !s.w.isClosed() {
		time.Sleep(time.Millisecond)
	}
	if err := s.Update(ctx, func(Txn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update during Close = %v; want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with updates queued", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	for range 10 {
		if err := <-errs; err != nil {
			t.Errorf("queued Update = %v", err)
		}
	}
	// ...and for the running view.
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a View running", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(endView)
	must(t, <-closed)

	if err := s.View(ctx, func(Reader) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("View after Close = %v; want ErrClosed", err)
	}
	if err := s.Update(ctx, func(Txn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v; want ErrClosed", err)
	}
	must(t, s.Close())
}

func TestContext(t *testing.T) {
	s := openMem(t, Options{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	t.Run("done before Update", func(t *testing.T) {
		err := s.Update(cancelled, func(Txn) error {
			t.Error("function ran")
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update = %v; want context.Canceled", err)
		}
		if err := s.View(cancelled, func(Reader) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("View = %v; want context.Canceled", err)
		}
	})

	t.Run("done while queued", func(t *testing.T) {
		release := holdWriter(t, s)
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := s.Update(ctx, func(Txn) error {
			t.Error("function ran")
			return nil
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Update = %v; want context.DeadlineExceeded", err)
		}
	})

	t.Run("done while running", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		err := s.Update(ctx, func(tx Txn) error {
			cancel()
			return tx.Set([]byte("late"), []byte("v"))
		})
		if err != nil {
			t.Errorf("Update = %v; want nil, the function had started", err)
		}
		must(t, s.View(context.Background(), func(r Reader) error {
			_, err := r.Get([]byte("late"))
			return err
		}))
	})

	t.Run("done during View scan", func(t *testing.T) {
		must(t, s.Update(context.Background(), func(tx Txn) error {
			for i := range 500 {
				noErr(t, tx.Set(AppendUint64([]byte("n"), uint64(i)), nil))
			}
			return nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		var n int
		err := s.View(ctx, func(r Reader) error {
			return r.Scan([]byte("n"), nil, false, func(_, _ []byte) error {
				n++
				cancel()
				return nil
			})
		})
		if !errors.Is(err, context.Canceled) || n >= 500 {
			t.Errorf("View = %v after %d keys; want context.Canceled early", err, n)
		}
	})
}

func TestPanic(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, Options{})
	func() {
		defer func() {
			v := recover()
			if msg, _ := v.(string); !strings.Contains(msg, "kaboom") {
				t.Errorf("recovered %v; want the function's panic", v)
			}
		}()
		s.Update(ctx, func(tx Txn) error {
			noErr(t, tx.Set([]byte("k"), []byte("v")))
			panic("kaboom")
		})
		t.Error("Update returned")
	}()
	// The writer survived and nothing was written.
	must(t, s.Update(ctx, func(tx Txn) error {
		if _, err := tx.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after panic = %v; want ErrNotFound", err)
		}
		return nil
	}))
}

// TestTxnTooBig uses a 1 MB memtable, so a Badger transaction holds about
// 150 KB: a batch of 20 functions writing 40 KB each spans several Badger
// transactions, a single function writing 200 KB cannot commit, and neither
// affects the other functions of its batch.
func TestTxnTooBig(t *testing.T) {
	ctx := context.Background()
	var batches batchSizes
	s := openMem(t, Options{MemTableSize: 1 << 20, OnBatch: batches.add})
	value := bytes.Repeat([]byte("x"), 20<<10)
	release := holdWriter(t, s)
	const n = 20
	errs := make([]error, n+2)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx Txn) error {
				for j := range 2 {
					noErr(t, tx.Set(fmt.Appendf(nil, "k%02d.%d", i, j), value))
				}
				return nil
			})
		})
	}
	waitQueued(t, s, n)
	wg.Go(func() { // too big as a whole
		errs[n] = s.Update(ctx, func(tx Txn) error {
			for j := range 10 {
				noErr(t, tx.Set(fmt.Appendf(nil, "big.%d", j), value))
			}
			return nil
		})
	})
	waitQueued(t, s, n+1)
	wg.Go(func() { // a value above the in-memory limit: a Badger error other than ErrTxnTooBig
		errs[n+1] = s.Update(ctx, func(tx Txn) error {
			return tx.Set([]byte("huge"), bytes.Repeat([]byte("x"), 1<<20))
		})
	})
	waitQueued(t, s, n+2)
	close(release)
	wg.Wait()

	for i, err := range errs[:n] {
		if err != nil {
			t.Errorf("Update %d = %v", i, err)
		}
	}
	if !errors.Is(errs[n], ErrTxnTooBig) {
		t.Errorf("oversized Update = %v; want ErrTxnTooBig", errs[n])
	}
	if errs[n+1] == nil {
		t.Error("Update with a 1 MB value succeeded in memory")
	}
	if got := batches.get(); !slices.Equal(got, []int{1, n}) {
		t.Errorf("OnBatch calls = %v; want [1 %d]", got, n)
	}
	must(t, s.View(ctx, func(r Reader) error {
		got, err := collect(r, nil, nil, false)
		if err != nil || len(got) != 2*n {
			t.Errorf("store holds %d keys, %v; want %d", len(got), err, 2*n)
		}
		return nil
	}))
}

// With a commit interval, Updates that arrive while the previous batch is
// recent and held concurrent ones wait for one another and share a batch;
// an Update on an idle store, or after a batch of one, is not held back.
func TestCommitInterval(t *testing.T) {
	var batches []int
	var mu sync.Mutex
	s, err := Open(Options{InMemory: true, CommitInterval: 300 * time.Millisecond, OnBatch: func(n int) {
		mu.Lock()
		batches = append(batches, n)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	set := func(k string) error {
		return s.Update(ctx, func(tx Txn) error { return tx.Set([]byte(PrefixResource+k), []byte("v")) })
	}
	concurrently := func(n int, prefix string) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := set(fmt.Sprintf("/%s%d", prefix, i)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	// Idle, then right after a batch of one: at once (well under the
	// interval).
	for _, k := range []string{"/a", "/b"} {
		start := time.Now()
		if err := set(k); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 250*time.Millisecond {
			t.Fatalf("a lone Update waited %v", el)
		}
	}
	// A batch of three, queued while the writer is busy.
	release := make(chan struct{})
	busy := make(chan struct{})
	go func() {
		_ = s.Update(ctx, func(tx Txn) error { close(busy); <-release; return nil })
	}()
	<-busy
	go func() {
		// Release the writer once all three are queued.
		for len(s.w.reqs) < 3 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	concurrently(3, "c")
	// Eight more right after it: one batch, once the interval has passed.
	concurrently(8, "d")
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 1, 1, 3, 8}; !slices.Equal(batches, want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
}
