//go:build unix

package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/pgstore/pgtest"
)

// Bounds of the failover test.
const (
	haNodes        = 2                // stores on the multi-host URL, as two podserver nodes
	haWriters      = 4                // writing goroutines per store
	haBeforeKill   = 300              // acknowledged writes before the primary is killed
	haAfterPromote = 200              // acknowledged writes after the promotion
	haUpdateBound  = 30 * time.Second // the longest one Update may take, failover or not
	haGone         = time.Second      // how long the primary stays dead before the promotion
)

// unavailable reports whether err says the database is unreachable, as an
// Update's error must while there is no primary.
func unavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// haWrite is one acknowledged write: its key, the sequence number it
// drew and stored, and when its Update started and returned.
type haWrite struct {
	key           string
	seq           uint64
	start, finish time.Time
}

// haLog is what the writers record.
type haLog struct {
	mu          sync.Mutex
	acked       []haWrite
	errs        int
	wrongErrs   []error // errors unavailable refused
	slow        []string
	longest     time.Duration // the longest Update that failed
	firstFail   time.Time
	firstErr    error
	firstBack   time.Time // the end of the first success started after firstFail
	ackedAfter  atomic.Int64
	promoted    atomic.Pointer[time.Time]
	ackedBefore atomic.Int64
}

// TestFailover kills the primary under a write load and promotes its
// synchronous standby: every acknowledged write must be on the promoted
// server, once, with its sequence number; sequence numbers drawn after
// the promotion must exceed every one acknowledged before the kill; every
// Update must return within haUpdateBound while there is no primary; and
// the same Store values (no reopen) must write again after the promotion.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("the failover test starts and kills its own pair of clusters")
	}
	ha := pgtest.StartHA(t)
	ctx := context.Background()
	stores := make([]*pgstore.Store, haNodes)
	for i := range stores {
		s, err := pgstore.Open(ctx, pgstore.Options{URL: ha.URL()})
		if err != nil {
			t.Fatalf("open on %s: %v", ha.URL(), err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}

	var log haLog
	stop := make(chan struct{})
	stopWriters := sync.OnceFunc(func() { close(stop) })
	var wg sync.WaitGroup
	t.Cleanup(func() { stopWriters(); wg.Wait() }) // before the stores close
	for n, s := range stores {
		for w := range haWriters {
			wg.Go(func() { haWriter(s, fmt.Sprintf("ha/%d/%d/", n, w), stop, &log) })
		}
	}

	if !waitFor(func() bool { return log.ackedBefore.Load() >= haBeforeKill }) {
		t.Fatalf("%d writes acknowledged in %v, before any failure; want %d", log.ackedBefore.Load(), haWait, haBeforeKill)
	}
	killed := time.Now()
	ha.KillPrimary()
	time.Sleep(haGone)
	ha.Promote()
	promoted := time.Now()
	log.promoted.Store(&promoted)
	back := waitFor(func() bool { return log.ackedAfter.Load() >= haAfterPromote })
	stopWriters()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(2 * haUpdateBound):
		t.Fatalf("writers still running %v after being stopped: an Update hangs", 2*haUpdateBound)
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	for _, s := range log.slow {
		t.Error(s)
	}
	for _, err := range log.wrongErrs {
		t.Errorf("an Update failed without saying the database is unavailable: %v", err)
	}
	if !back {
		t.Errorf("%d writes acknowledged within %v of the promotion, want %d: the stores did not reconnect", log.ackedAfter.Load(), haWait, haAfterPromote)
	}

	// Every acknowledged write is on the promoted server, once, with its
	// value; read there directly, not through the stores.
	present := readKeys(t, ha.StandbyURL())
	seqs := map[uint64]string{}
	var lost int
	var maxBefore uint64
	for _, w := range log.acked {
		v, ok := present[w.key]
		switch {
		case !ok:
			lost++
			t.Errorf("acknowledged write %s (seq %d, returned %v after the kill) is missing on the promoted server", w.key, w.seq, w.finish.Sub(killed))
		case store.Uint64(v) != w.seq:
			t.Errorf("%s holds seq %d, acknowledged with %d", w.key, store.Uint64(v), w.seq)
		}
		if other, dup := seqs[w.seq]; dup {
			t.Errorf("seq %d was drawn by both %s and %s", w.seq, other, w.key)
		}
		seqs[w.seq] = w.key
		if w.finish.Before(killed) {
			maxBefore = max(maxBefore, w.seq)
		}
	}
	for _, w := range log.acked {
		if w.start.After(promoted) && w.seq <= maxBefore {
			t.Errorf("%s, written after the promotion, drew seq %d, not above %d acknowledged before the kill", w.key, w.seq, maxBefore)
		}
	}

	// The same Store values read and write again: no reopen.
	for i, s := range stores {
		key := fmt.Appendf(nil, "ha/after/%d", i)
		if err := s.Update(ctx, func(tx store.Txn) error { return tx.Set(key, []byte("v")) }); err != nil {
			t.Errorf("store %d: Update after the failover: %v", i, err)
		}
		var n int
		err := s.View(ctx, func(r store.Reader) error {
			return r.Scan([]byte("ha/"), nil, false, func(k, v []byte) error { n++; return nil })
		})
		if err != nil || n < len(log.acked) {
			t.Errorf("store %d: View after the failover: %d keys, %v; want at least the %d acknowledged", i, n, err, len(log.acked))
		}
	}

	outage := "none measured"
	if !log.firstFail.IsZero() && !log.firstBack.IsZero() {
		outage = log.firstBack.Sub(log.firstFail).Round(time.Millisecond).String()
	}
	t.Logf("acknowledged %d writes (%d before the kill, %d after the promotion), lost %d, %d failed Updates (not acknowledged; %d of those writes are present anyway), time without service %s (kill to promoted: %v)",
		len(log.acked), log.ackedBefore.Load(), log.ackedAfter.Load(), lost, log.errs, len(present)-len(log.acked), outage, promoted.Sub(killed).Round(time.Millisecond))
	t.Logf("the longest failed Update took %v; the first error: %v", log.longest.Round(time.Millisecond), log.firstErr)
}

// haWait bounds waitFor.
const haWait = 60 * time.Second

// waitFor waits up to haWait for cond and reports whether it held.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(haWait)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// haWriter writes keys prefix+i, i = 0, 1, ..., each in one Update that
// stores the sequence number it drew, until stop is closed.
func haWriter(s *pgstore.Store, prefix string, stop <-chan struct{}, log *haLog) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("%s%08d", prefix, i)
		var seq uint64
		ctx, cancel := context.WithTimeout(context.Background(), haUpdateBound)
		start := time.Now()
		err := s.Update(ctx, func(tx store.Txn) error {
			seq = tx.NextSeq()
			return tx.Set([]byte(key), store.AppendUint64(nil, seq))
		})
		finish := time.Now()
		cancel()
		log.record(haWrite{key: key, seq: seq, start: start, finish: finish}, err)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // as a client told Retry-After would, briefly
		}
	}
}

func (l *haLog) record(w haWrite, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := w.finish.Sub(w.start); d > haUpdateBound || errors.Is(err, context.DeadlineExceeded) {
		l.slow = append(l.slow, fmt.Sprintf("Update of %s took %v (bound %v): %v", w.key, d, haUpdateBound, err))
	}
	if err != nil {
		l.errs++
		l.longest = max(l.longest, w.finish.Sub(w.start))
		if l.firstFail.IsZero() {
			l.firstFail, l.firstErr = w.finish, err
		}
		if !unavailable(err) && len(l.wrongErrs) < 5 {
			l.wrongErrs = append(l.wrongErrs, err)
		}
		return
	}
	l.acked = append(l.acked, w)
	if !l.firstFail.IsZero() && l.firstBack.IsZero() && w.start.After(l.firstFail) {
		l.firstBack = w.finish
	}
	if p := l.promoted.Load(); p != nil && w.start.After(*p) {
		l.ackedAfter.Add(1)
	} else if l.firstFail.IsZero() {
		l.ackedBefore.Add(1)
	}
}

// readKeys returns every key under "ha/" on the server at url, and its
// value.
func readKeys(t *testing.T, url string) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to the promoted server: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT k, v FROM podserver_kv WHERE k >= 'ha/' AND k < 'ha0'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[string(k)] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
