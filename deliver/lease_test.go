package deliver

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/pgstore/pgtest"
)

// cluster is the PostgreSQL cluster of the tests that run on pgstore.
var cluster = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// logWatch is a slog.Handler that passes the messages of warnings and
// errors to msgs (dropping them when it is full) and counts debug ones.
type logWatch struct {
	msgs  chan string
	debug *atomic.Int64
}

func newLogWatch() logWatch { return logWatch{msgs: make(chan string, 64), debug: new(atomic.Int64)} }

func (h logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (h logWatch) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logWatch) WithGroup(string) slog.Handler            { return h }
func (h logWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		h.debug.Add(1)
		return nil
	}
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}

// waitLog waits for a warning or error whose message is msg.
func (h logWatch) waitLog(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-h.msgs:
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("no %q logged", msg)
		}
	}
}

func memStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// queued returns the queue entries in st.
func queued(t *testing.T, st store.Store) []Record {
	t.Helper()
	var out []Record
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, v []byte) error {
			r, err := decodeEntry(v)
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// outboxRecord returns pod p's outbox record seq.
func outboxRecord(t *testing.T, st store.Store, seq uint64) Record {
	t.Helper()
	var r Record
	err := st.View(context.Background(), func(rd store.Reader) error {
		var err error
		r, err = Get(rd, "p", seq)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A node killed during a remote attempt holds its lease until it
// expires: another node leaves the record alone until then (a waiter
// there ends at its deadline, not tried), and then completes the
// delivery. The killed node's outcome, if it comes after all, is dropped.
func TestLeaseKilledNode(t *testing.T) {
	st := memStore(t)
	logs := newLogWatch()
	var aDone, bDone, bCalls atomic.Int64
	entered, unblock := make(chan struct{}, 1), make(chan struct{})
	a := New(Config{Store: st, Node: "a", Logger: slog.New(logs), OnAttempt: func(r Record, outcome string, _ time.Duration) {
		aDone.Add(1)
	}})
	a.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		entered <- struct{}{}
		<-unblock // "killed": never answers while the test looks
		return Response{Status: 204}, nil
	})
	// b's clock starts an hour behind, so that the record is not due
	// for b before a leases it.
	var skew atomic.Int64
	skew.Store(int64(-time.Hour))
	b := New(Config{Store: st, Node: "b", Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		OnAttempt: func(r Record, outcome string, _ time.Duration) {
			if outcome == OutcomeDelivered {
				bDone.Add(1)
			}
		}})
	b.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		bCalls.Add(1)
		return Response{Status: 200}, nil
	})
	// Both start before a record is leased (on a Badger store, Start
	// reclaims every lease).
	b.Start()
	defer b.Close()
	a.Start()
	start := time.Now()
	r := enqueue(t, st, a, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://hook.example/cb"})
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("a did not attempt the record it enqueued")
	}
	skew.Store(0)

	// a's lease is in the store, as long as Config.Lease.
	q := queued(t, st)
	if len(q) != 1 || q[0].hold.Node != "a" || q[0].hold.Until.Before(start.Add(a.cfg.Lease-time.Second)) {
		t.Fatalf("queue while a attempts: %+v", q)
	}
	// b, poked, leaves it alone; its waiter ends at the deadline.
	b.Poke()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	res := b.Wait(ctx, r)
	cancel()
	if res.Status != StatusPending || res.Tried {
		t.Errorf("waiter on b while a holds the lease: %+v, want pending, not tried", res)
	}
	if n := bCalls.Load(); n != 0 {
		t.Fatalf("b attempted a record leased to a (%d calls)", n)
	}

	// The lease expires: b completes the delivery.
	skew.Store(int64(a.cfg.Lease + time.Second))
	b.Poke()
	for deadline := time.Now().Add(5 * time.Second); bDone.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("b did not deliver after a's lease expired")
		}
	}
	if got := outboxRecord(t, st, r.Seq); got.Status != StatusDelivered || got.Attempts != 1 || got.LastStatus != 200 {
		t.Fatalf("after b's attempt: %+v", got)
	}

	// a's attempt ends at last: its outcome is dropped.
	close(unblock)
	logs.waitLog(t, "deliver: lease lost during the attempt, outcome dropped")
	a.Close()
	if n := aDone.Load(); n != 0 {
		t.Errorf("a recorded %d outcomes after losing its lease", n)
	}
	if got := outboxRecord(t, st, r.Seq); got.Status != StatusDelivered || got.Attempts != 1 || got.LastStatus != 200 {
		t.Errorf("a's late outcome changed the record: %+v", got)
	}
	if q := queued(t, st); len(q) != 0 {
		t.Errorf("left in the queue: %+v", q)
	}
}

// A node that closes during a remote attempt gives its lease up: another
// node attempts the record at once, not after the lease.
func TestLeaseReleasedOnClose(t *testing.T) {
	st := memStore(t)
	entered := make(chan struct{}, 1)
	a := New(Config{Store: st, Node: "a"})
	a.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return Response{}, ctx.Err()
	})
	delivered := make(chan uint64, 1)
	b := New(Config{Store: st, Node: "b", OnAttempt: func(r Record, outcome string, _ time.Duration) {
		if outcome == OutcomeDelivered {
			delivered <- r.Seq
		}
	}})
	b.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		return Response{Status: 204}, nil
	})
	a.Start()
	r := enqueue(t, st, a, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://hook.example/cb"})
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("a did not attempt the record it enqueued")
	}
	a.Close()
	if q := queued(t, st); len(q) != 1 || q[0].hold.Node != "" || !q[0].Due.Equal(r.Due) {
		t.Fatalf("queue after a closed: %+v, want the record unleased at its due time", q)
	}
	b.Start()
	defer b.Close()
	select {
	case seq := <-delivered:
		if seq != r.Seq {
			t.Fatalf("b delivered %d, want %d", seq, r.Seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not deliver the record a released")
	}
	if got := outboxRecord(t, st, r.Seq); got.Status != StatusDelivered || got.Attempts != 1 {
		t.Errorf("a's cut attempt was counted: %+v", got)
	}
}

// Two nodes on one Badger store race for many records: each is attempted
// and recorded once, and each local one writes one copy.
func TestLeaseTwoNodesRace(t *testing.T) {
	st := memStore(t)
	raceNodes(t, [2]store.Store{st, st}, nil)
}

// TestLeaseTwoNodesRacePostgres is TestLeaseTwoNodesRace on PostgreSQL,
// each node with a store of its own whose change feed pokes the other.
func TestLeaseTwoNodesRacePostgres(t *testing.T) {
	url := cluster.URL(t)
	var nodes [2]atomic.Pointer[Queue]
	var stores [2]store.Store
	for i := range stores {
		other := &nodes[1-i]
		s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, ChangePrefixes: []string{store.PrefixDelivery},
			OnChange: func([]store.Change) {
				if q := other.Load(); q != nil {
					q.Poke()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	raceNodes(t, stores, &nodes)
	t.Logf("retries after serialization failures: %d + %d", stores[0].(*pgstore.Store).Retries(), stores[1].(*pgstore.Store).Retries())
}

// raceNodes runs two queues ("a" on stores[0], "b" on stores[1]) over one
// database and enqueues records on both, due at the same moment, so that
// both nodes' scans find them due at once. Unless feed is set (a node's
// change feed pokes the other), each node is poked after the other's
// enqueues, as the cross-node change feed would.
func raceNodes(t *testing.T, stores [2]store.Store, feed *[2]atomic.Pointer[Queue]) {
	const n, batch = 400, 20
	var mu sync.Mutex
	calls := map[uint64]int{}
	done := map[uint64]int{}
	byNode := map[string]int{}
	var total atomic.Int64
	all := make(chan struct{})
	logs := newLogWatch()
	var qs [2]*Queue
	for i := range qs {
		node := string(rune('a' + i))
		q := New(Config{Store: stores[i], Node: node, Logger: slog.New(logs), OnAttempt: func(r Record, outcome string, _ time.Duration) {
			if outcome != OutcomeDelivered {
				t.Errorf("record %d: %s (%s)", r.Seq, outcome, r.LastError)
				return
			}
			mu.Lock()
			done[r.Seq]++
			byNode[node]++
			mu.Unlock()
			if total.Add(1) == n {
				close(all)
			}
		}})
		q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
			mu.Lock()
			calls[r.Seq]++
			mu.Unlock()
			return Response{Status: 204}, nil
		})
		q.HandleLocal(KindInbox, func(tx store.Txn, r Record, now time.Time) error {
			return tx.Set(fmt.Appendf(nil, "r/copy/%d/%s", r.Seq, node), nil)
		})
		qs[i] = q
		if feed != nil {
			feed[i].Store(q)
		}
	}
	for _, q := range qs {
		q.Start()
		defer q.Close()
	}
	due := time.Now().Add(500 * time.Millisecond)
	var recs []Record
	for i := 0; i < n; i += batch {
		k := (i / batch) % 2
		var added []Record
		err := stores[k].Update(context.Background(), func(tx store.Txn) error {
			added = added[:0]
			for j := range batch {
				r := Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://h" + strconv.Itoa(j%4) + ".example/cb", Due: due}
				if j%2 == 1 {
					r.Kind, r.Target = KindInbox, "/a/inbox/"
				}
				r, err := qs[k].Enqueue(tx, r)
				if err != nil {
					return err
				}
				added = append(added, r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, added...)
		if feed == nil {
			qs[1-k].Poke()
		}
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d records delivered", total.Load(), n)
	}
	for _, q := range qs {
		q.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	copies := map[uint64]int{}
	err := stores[0].View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte("r/copy/"), nil, false, func(k, _ []byte) error {
			seq, err := strconv.ParseUint(string(bytes.Split(k, []byte("/"))[2]), 10, 64)
			copies[seq]++
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if done[r.Seq] != 1 {
			t.Errorf("record %d (%s) recorded delivered %d times", r.Seq, r.Kind, done[r.Seq])
		}
		switch r.Kind {
		case KindWebhook:
			if calls[r.Seq] != 1 {
				t.Errorf("remote record %d attempted %d times", r.Seq, calls[r.Seq])
			}
		case KindInbox:
			if copies[r.Seq] != 1 {
				t.Errorf("local record %d wrote %d copies", r.Seq, copies[r.Seq])
			}
		}
		if got := outboxRecord(t, stores[0], r.Seq); got.Status != StatusDelivered || got.Attempts != 1 {
			t.Errorf("outbox record %d: %s after %d attempts", r.Seq, got.Status, got.Attempts)
		}
	}
	if q := queued(t, stores[0]); len(q) != 0 {
		t.Errorf("%d records left in the queue", len(q))
	}
	t.Logf("delivered by node: %v; remote claims lost to the other node: %d", byNode, logs.debug.Load())
}

// Records one node enqueued and another delivered stay counted on the
// first (Depth, and its channel's bound) until it recounts from the store.
func TestLeaseRecount(t *testing.T) {
	st := memStore(t)
	policy := Policy{MaxPerChannel: 3, Transient: true}
	a := New(Config{Store: st, Node: "a"}) // never started: b delivers
	a.SetPolicy(KindPush, policy)
	delivered := make(chan struct{}, 3)
	b := New(Config{Store: st, Node: "b", OnAttempt: func(r Record, outcome string, _ time.Duration) {
		delivered <- struct{}{}
	}})
	b.SetPolicy(KindPush, policy)
	b.HandleRemote(KindPush, func(ctx context.Context, r Record) (Response, error) { return Response{Status: 204}, nil })
	b.Start()
	defer b.Close()
	push := Record{Kind: KindPush, Pod: "p", Target: "https://hook.example/cb", Channel: "c"}
	for range 3 {
		enqueue(t, st, a, push)
	}
	b.Poke()
	for range 3 {
		select {
		case <-delivered:
		case <-time.After(5 * time.Second):
			t.Fatal("b did not deliver a's records")
		}
	}
	if p, _ := a.Depth(); p != 3 || a.Offer(push) {
		t.Fatalf("before recounting: a counts %d pending and takes an offer beyond its channel's bound of 3", p)
	}
	a.recount(false)
	if p, _ := a.Depth(); p != 0 || !a.Offer(push) {
		t.Errorf("after recounting: a counts %d pending (want 0) or refuses an offer", p)
	}
}

// sharedStore hides the Badger store under it from the queue, as a store
// that several processes share.
type sharedStore struct{ store.Store }

// Start takes back the leases of a previous run of the node (the same
// Config.Node), and on a Badger store, which one process holds alone,
// every lease: a restarted node does not wait for them to expire. On a
// shared store another node's lease stays.
func TestLeaseReclaimedAtStart(t *testing.T) {
	for _, c := range []struct {
		name     string
		shared   bool
		node     string
		reclaims bool
	}{
		{"same node", true, "a", true},
		{"other node", true, "b", false},
		{"badger", false, "b", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			mem := memStore(t)
			var st store.Store = mem
			if c.shared {
				st = sharedStore{mem}
			}
			entered, unblock := make(chan struct{}, 1), make(chan struct{})
			a := New(Config{Store: st, Node: "a"})
			a.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
				entered <- struct{}{}
				<-unblock
				return Response{}, ctx.Err()
			})
			a.Start()
			defer a.Close()
			defer close(unblock)
			enqueue(t, st, a, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://hook.example/cb"})
			select {
			case <-entered:
			case <-time.After(5 * time.Second):
				t.Fatal("a did not attempt the record it enqueued")
			}
			// a is dead; its successor starts.
			delivered := make(chan struct{}, 1)
			b := New(Config{Store: st, Node: c.node, OnAttempt: func(r Record, outcome string, _ time.Duration) {
				delivered <- struct{}{}
			}})
			b.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
				return Response{Status: 204}, nil
			})
			b.Start()
			defer b.Close()
			b.Poke()
			wait := 5 * time.Second
			if !c.reclaims {
				wait = 300 * time.Millisecond
			}
			select {
			case <-delivered:
				if !c.reclaims {
					t.Fatal("a live node's lease was taken")
				}
			case <-time.After(wait):
				if c.reclaims {
					t.Fatal("the dead node's lease was not taken back at Start")
				}
			}
		})
	}
}
