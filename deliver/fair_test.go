package deliver

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"podserver/store"
	"podserver/store/pgstore"
)

// hangingTargets is a remote handler that answers 204 at once, except to
// the targets whose site hangs says, whose attempts hang until the queue
// closes. It counts the attempts of each record and the most attempts
// hanging at once, per site and in all.
type hangingTargets struct {
	hangs func(site string) bool

	mu                sync.Mutex
	calls             map[uint64]int
	hanging, maxTotal int
	bySite, maxBySite map[string]int
	delivered         map[string]int
}

func newHanging(hangs func(site string) bool) *hangingTargets {
	return &hangingTargets{hangs: hangs, calls: map[uint64]int{}, bySite: map[string]int{}, maxBySite: map[string]int{}, delivered: map[string]int{}}
}

func (h *hangingTargets) attempt(ctx context.Context, r Record) (Response, error) {
	s := laneName(r)
	h.mu.Lock()
	h.calls[r.Seq]++
	if !h.hangs(s) {
		h.delivered[s]++
		h.mu.Unlock()
		return Response{Status: 204}, nil
	}
	h.hanging++
	h.bySite[s]++
	h.maxTotal = max(h.maxTotal, h.hanging)
	h.maxBySite[s] = max(h.maxBySite[s], h.bySite[s])
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	h.hanging--
	h.bySite[s]--
	h.mu.Unlock()
	return Response{}, ctx.Err()
}

// checkOnce fails t if a record was attempted more than once.
func (h *hangingTargets) checkOnce(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for seq, n := range h.calls {
		if n != 1 {
			t.Errorf("record %d attempted %d times", seq, n)
		}
	}
}

// countKeys counts the queue entries in the due order and parked.
func countKeys(t *testing.T, st store.Store) (due, parked int) {
	t.Helper()
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(k, _ []byte) error {
			if isParked(k) {
				parked++
			} else {
				due++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return due, parked
}

// A dead target's backlog larger than a scan's window does not keep the
// scanner from other targets' records behind it: its due records are
// parked out of the way. Every record is attempted at most once, and the
// dead target's stay pending (parked ones too) for the next start, which
// takes them from where they are parked.
func TestQueueBacklogBeyondScanWindow(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHanging(func(site string) bool { return site == "dead.example" })
	q := New(Config{Store: st, PerHost: 2, backlog: 2, scanWindow: 8})
	q.HandleRemote(KindWebhook, h.attempt)
	q.Start()
	const deadN = 60
	for range deadN {
		enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "d", Target: "https://dead.example/cb"})
	}
	var healthy []Record
	for range 3 {
		healthy = append(healthy, enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "h", Target: "https://ok.example/cb"}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range healthy {
		if res := q.Wait(ctx, r); res.Status != StatusDelivered {
			t.Fatalf("healthy target's delivery %d behind %d records to a dead one: %+v", r.Seq, deadN, res)
		}
	}
	q.Close()
	h.checkOnce(t)
	due, parked := countKeys(t, st)
	if due+parked != deadN || parked == 0 {
		t.Fatalf("%d queue entries in the due order and %d parked, want %d in all, some parked", due, parked, deadN)
	}

	// Restarted, the queue finds the parked records: the target is
	// healthy now, and every one is delivered once.
	h2 := newHanging(func(string) bool { return false })
	q2 := New(Config{Store: st, PerHost: 2, backlog: 2, scanWindow: 8})
	q2.HandleRemote(KindWebhook, h2.attempt)
	q2.Start()
	defer q2.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if p, _ := q2.Depth(); p == 0 {
			break
		}
		if time.Now().After(deadline) {
			p, _ := q2.Depth()
			t.Fatalf("%d records still pending after the restart", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h2.checkOnce(t)
	h2.mu.Lock()
	defer h2.mu.Unlock()
	if h2.delivered["dead.example"] != deadN {
		t.Fatalf("%d of %d parked records delivered after the restart", h2.delivered["dead.example"], deadN)
	}
}

// Lanes are sites: ports and subdomains of one registrable domain share
// one, as do the addresses of one IPv6 /64.
func TestLaneSite(t *testing.T) {
	for _, c := range []struct{ target, lane string }{
		{"https://example.org/cb", "example.org"},
		{"https://EXAMPLE.org:8443/cb", "example.org"},
		{"https://a.b.example.org./cb", "example.org"},
		{"http://127.0.0.1:19001/ok", "127.0.0.1"},
		{"http://127.0.0.1:19101/h1", "127.0.0.1"},
		{"http://[::ffff:10.0.0.1]:80/", "10.0.0.1"},
		{"http://[2001:db8::1]:8080/", "2001:db8::/64"},
		{"http://[2001:db8::2:1]/", "2001:db8::/64"},
		{"http://[2001:db8:0:1::1]/", "2001:db8:0:1::/64"},
		{"https://alice.github.io/card#me", "alice.github.io"},
		{"http://localhost:3000/x", "localhost"},
		{"::not a url", "?"},
	} {
		if got := laneName(Record{Kind: KindWebhook, Target: c.target}); got != c.lane {
			t.Errorf("lane of %q = %q, want %q", c.target, got, c.lane)
		}
	}
	if got := laneName(Record{Kind: KindInbox, Target: "/a/inbox/"}); got != "" {
		t.Errorf("lane of a local delivery = %q, want \"\"", got)
	}
}

// Sites whose targets hang, together wanting more attempts than there
// are slots, leave slots to a healthy one; one site on several ports is
// one lane, held to PerHost attempts in all.
func TestQueueFairSlots(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHanging(func(site string) bool { return site != "ok.example" })
	const parallel, perHost = 8, 6
	q := New(Config{Store: st, Parallel: parallel, PerHost: perHost})
	q.HandleRemote(KindWebhook, h.attempt)
	q.Start()
	// 4 hanging sites want 4 × 6 = 24 attempts, the first on 5 ports.
	for i := range 40 {
		target := "https://hang" + strconv.Itoa(i%4) + ".example/cb"
		if i%4 == 0 {
			target = "https://hang0.example:" + strconv.Itoa(8000+i%5) + "/cb"
		}
		enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "d", Target: target})
	}
	// Every hanging site runs its attempts before the healthy one comes.
	for deadline := time.Now().Add(5 * time.Second); ; {
		h.mu.Lock()
		n := len(h.maxBySite)
		h.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 hanging sites attempted", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		r := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "h", Target: "https://ok.example/cb"})
		if res := q.Wait(ctx, r); res.Status != StatusDelivered {
			t.Fatalf("healthy site's delivery while 4 others hang: %+v", res)
		}
	}
	q.Close()
	h.checkOnce(t)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.maxTotal >= parallel {
		t.Errorf("hanging sites held %d of %d slots at once, want some left", h.maxTotal, parallel)
	}
	for s, n := range h.maxBySite {
		if n > perHost {
			t.Errorf("%s: %d attempts at once, want at most PerHost (%d)", s, n, perHost)
		}
	}
}

// Two nodes sharing a store park and unpark one dead target's backlog
// beyond their scan windows without keeping either from other targets'
// records, and without attempting any record twice (Badger shared by two
// queues, and PostgreSQL with a store per node).
func TestParkTwoNodes(t *testing.T) {
	t.Run("badger", func(t *testing.T) {
		st := memStore(t)
		parkTwoNodes(t, [2]store.Store{st, st})
	})
	t.Run("postgres", func(t *testing.T) {
		url := cluster.URL(t)
		var stores [2]store.Store
		for i := range stores {
			s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			stores[i] = s
		}
		parkTwoNodes(t, stores)
	})
}

func parkTwoNodes(t *testing.T, stores [2]store.Store) {
	h := newHanging(func(site string) bool { return site == "dead.example" })
	var qs [2]*Queue
	for i := range qs {
		qs[i] = New(Config{Store: stores[i], Node: string(rune('a' + i)), PerHost: 2, backlog: 2, scanWindow: 8, Rescan: 50 * time.Millisecond})
		qs[i].HandleRemote(KindWebhook, h.attempt)
	}
	for _, q := range qs {
		q.Start()
	}
	const deadN = 60
	for i := range deadN {
		enqueue(t, stores[i%2], qs[i%2], Record{Kind: KindWebhook, Pod: "p", EventID: "d", Target: "https://dead.example/cb"})
	}
	// Either node may attempt a record (a ?wait learns only of its own
	// node's attempts): the outbox says when it is delivered.
	for i := range 4 {
		r := enqueue(t, stores[i%2], qs[i%2], Record{Kind: KindWebhook, Pod: "p", EventID: "h", Target: "https://ok" + strconv.Itoa(i) + ".example/cb"})
		for deadline := time.Now().Add(10 * time.Second); ; {
			var got Record
			err := stores[0].View(context.Background(), func(rd store.Reader) error {
				var err error
				got, err = Get(rd, "p", r.Seq)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == StatusDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("healthy target's delivery %d (on node %d) behind %d records to a dead one: %+v", r.Seq, i%2, deadN, got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Each node parks the dead target's records it finds due, and runs
	// its PerHost attempts of them.
	for deadline := time.Now().Add(10 * time.Second); ; {
		h.mu.Lock()
		n := h.hanging
		h.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts to the dead target hang, want 2 per node", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, q := range qs {
		q.Close()
	}
	h.checkOnce(t)
	if due, parked := countKeys(t, stores[0]); due+parked != deadN || parked == 0 {
		t.Fatalf("%d queue entries in the due order and %d parked, want %d in all, some parked", due, parked, deadN)
	}
}
