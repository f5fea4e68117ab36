package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/store"
)

// fakeHost is a server with pods at http://pods.test/{pod}/ that denies
// Read to the agents in deny.
type fakeHost struct {
	mu   sync.Mutex
	deny map[string]bool
}

func (h *fakeHost) BaseURL() string           { return "http://pods.test" }
func (h *fakeHost) PodRoot(pod string) string { return "http://pods.test/" + pod + "/" }
func (h *fakeHost) PodOfURL(u string) (string, string, bool) {
	rest, ok := strings.CutPrefix(u, "http://pods.test/")
	if !ok {
		return "", "", false
	}
	pod, rel, ok := strings.Cut(rest, "/")
	return pod, rel, ok
}
func (h *fakeHost) Authorize(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.deny[r.Principal.Agent] {
		return apierr.ErrForbidden
	}
	return nil
}
func (h *fakeHost) KeyActive(context.Context, string, string) (bool, error)          { return true, nil }
func (h *fakeHost) SignRequest(context.Context, string, *http.Request, []byte) error { return nil }
func (h *fakeHost) AppendInbox(context.Context, string, string, []byte, func(string)) error {
	return nil
}

// countSink counts what it is sent and reports when it has n messages.
type countSink struct {
	got  atomic.Int64
	want int64
	done chan struct{}
	last atomic.Pointer[[]byte]
}

func (s *countSink) send(b []byte) bool {
	s.last.Store(&b)
	if s.got.Add(1) == s.want {
		close(s.done)
	}
	return true
}
func (s *countSink) drop(string) {}

// testNotifier returns a notifier over an in-memory store that reports its
// writes to it.
func testNotifier(t testing.TB, host Host) (*Notifier, store.Store) {
	t.Helper()
	var n *Notifier
	st, err := store.Open(store.Options{InMemory: true, ChangePrefixes: []string{store.PrefixResource},
		OnChange: func(c []store.Change) { n.OnChange(c) }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err = New(Config{Store: st, Host: host}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		st.Close()
	})
	if err := st.Update(context.Background(), func(tx store.Txn) error {
		return ldp.CreateRoot(tx, "/alice/", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	return n, st
}

func put(t testing.TB, st store.Store, p, body string) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, p, "application/ld+json", []byte(body), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wsRecord(id, path, agent string) record {
	return record{ID: id, Type: TypeWebSocket, Pod: "alice", Path: path, Agent: agent, KeyPod: "alice",
		EndAt: time.Now().Add(time.Hour), Media: "application/ld+json", Created: time.Now()}
}

// The dispatcher sends Create to the resource's channels and Add to its
// container's, only to creators who may read them.
func TestDispatch(t *testing.T) {
	host := &fakeHost{deny: map[string]bool{"https://mallory.example/#me": true}}
	n, st := testNotifier(t, host)
	ctx := context.Background()
	put(t, st, "/alice/d/", "")
	sinks := map[string]*countSink{}
	for _, c := range []struct{ id, path, agent string }{
		{"res", "/alice/d/x", "https://alice.example/#me"},
		{"dir", "/alice/d/", "https://alice.example/#me"},
		{"denied", "/alice/d/x", "https://mallory.example/#me"},
	} {
		ch, err := n.create(ctx, wsRecord(c.id, c.path, c.agent))
		if err != nil {
			t.Fatal(err)
		}
		s := &countSink{want: 1, done: make(chan struct{})}
		n.addSink(ch, s)
		sinks[c.id] = s
	}
	put(t, st, "/alice/d/x", `{}`)
	for _, id := range []string{"res", "dir"} {
		select {
		case <-sinks[id].done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got nothing", id)
		}
	}
	res, dir := string(*sinks["res"].last.Load()), string(*sinks["dir"].last.Load())
	if !strings.Contains(res, `"type":"Create"`) || !strings.Contains(res, `"object":"http://pods.test/alice/d/x"`) {
		t.Errorf("resource channel got %s", res)
	}
	if !strings.Contains(dir, `"type":"Add"`) || !strings.Contains(dir, `"target":"http://pods.test/alice/d/"`) {
		t.Errorf("container channel got %s", dir)
	}
	time.Sleep(50 * time.Millisecond)
	if got := sinks["denied"].got.Load(); got != 0 {
		t.Errorf("a creator without Read got %d notifications", got)
	}
	if st := n.Stats(); st.Channels != 3 || st.DroppedChanges != 0 {
		t.Errorf("stats: %+v", st)
	}
}

// OnChange keeps nothing when nobody watches, and never blocks.
func TestOnChangeUnwatched(t *testing.T) {
	n, st := testNotifier(t, &fakeHost{})
	for i := range 100 {
		put(t, st, fmt.Sprintf("/alice/x%d", i), `{}`)
	}
	n.qmu.Lock()
	q := len(n.queue)
	n.qmu.Unlock()
	if q != 0 {
		t.Errorf("queued %d unwatched changes", q)
	}
}

// The retry queue retries failures with the schedule, honours a 4xx as
// final, and removes what it delivered from the store.
func TestRetryQueue(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var calls, okCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case strings.Contains(r.URL.Path, "gone"):
			w.WriteHeader(http.StatusGone)
		case okCalls.Add(1) <= 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	q, err := newRetryQueue(retryConfig{
		Store: st, Client: srv.Client(), Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		Resolve: func(ctx context.Context, ch string) (*PushTarget, error) {
			return &PushTarget{Channel: ch, Type: TypeWebhook, SendTo: srv.URL + "/" + ch}, nil
		},
		Local: func(context.Context, *PushTarget, Push) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Send(Push{Channel: "ok", ID: "urn:uuid:1", Body: []byte(`{}`), ContentType: "application/ld+json"})
	q.Send(Push{Channel: "gone", ID: "urn:uuid:2", Body: []byte(`{}`), ContentType: "application/ld+json"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending := 0
		_ = st.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan(deliveryPrefix, nil, false, func(k, v []byte) error { pending++; return nil })
		})
		if pending == 0 && calls.Load() >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queued after %d calls", pending, calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := calls.Load(); c != 4 { // gone once; ok three times (503, 503, 204)
		t.Errorf("%d calls, want 4", c)
	}
}

// A queued push survives a restart of the queue.
func TestRetryQueueRestart(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The first queue fails its first attempt and closes; with a wait of
	// 500ms before the retry it makes no second one (which would be its
	// last: the push would be dropped), however slow the machine.
	tried := make(chan struct{}, 1)
	failing := func(ctx context.Context, ch string) (*PushTarget, error) {
		select {
		case tried <- struct{}{}:
		default:
		}
		return nil, fmt.Errorf("down")
	}
	q1, err := newRetryQueue(retryConfig{Store: st, Schedule: []time.Duration{500 * time.Millisecond}, Resolve: failing})
	if err != nil {
		t.Fatal(err)
	}
	q1.Send(Push{Channel: "c", ID: "urn:uuid:1", Body: []byte(`{}`)})
	select {
	case <-tried:
	case <-time.After(5 * time.Second):
		t.Fatal("the first queue never attempted the push")
	}
	q1.Close()

	got := make(chan Push, 1)
	q2, err := newRetryQueue(retryConfig{Store: st, Schedule: []time.Duration{50 * time.Millisecond},
		Resolve: func(ctx context.Context, ch string) (*PushTarget, error) {
			return &PushTarget{Channel: ch, Inbox: "/bob/inbox/"}, nil
		},
		Local: func(ctx context.Context, t *PushTarget, p Push) error { got <- p; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	select {
	case p := <-got:
		if p.ID != "urn:uuid:1" {
			t.Errorf("delivered %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the queued push was not delivered after the restart")
	}
}

// BenchmarkDispatch measures one change reaching 1000 channels of one
// topic: from the store write to the last send (no sockets).
func BenchmarkDispatch(b *testing.B) {
	n, st := testNotifier(b, &fakeHost{})
	ctx := context.Background()
	const subs = 1000
	put(b, st, "/alice/inbox/", "")
	var sinks []*countSink
	for i := range subs {
		ch, err := n.create(ctx, wsRecord(fmt.Sprintf("c%d", i), "/alice/inbox/", "https://alice.example/#me"))
		if err != nil {
			b.Fatal(err)
		}
		s := &countSink{}
		n.addSink(ch, s)
		sinks = append(sinks, s)
	}
	b.ResetTimer()
	for i := range b.N {
		for _, s := range sinks {
			s.got.Store(0)
			s.want = 1
			s.done = make(chan struct{})
		}
		put(b, st, fmt.Sprintf("/alice/inbox/%d", i), `{}`)
		for _, s := range sinks {
			<-s.done
		}
	}
}
