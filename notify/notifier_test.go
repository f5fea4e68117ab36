package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/deliver"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/store"
	"podserver/webhook"
)

// fakeHost is a server with pods at http://pods.test/{pod}/ that denies
// Read to the agents in deny.
type fakeHost struct {
	mu   sync.Mutex
	deny map[string]bool
	// revoked holds the ids of revoked API keys.
	revoked map[string]bool
}

// testURLs is the pod URL scheme of the fake server.
func testURLs() podurl.Scheme {
	u, err := podurl.New("http://pods.test", podurl.ModePath)
	if err != nil {
		panic(err)
	}
	return u
}

func (h *fakeHost) Authorize(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.deny[r.Principal.Agent] {
		return apierr.Forbidden()
	}
	return nil
}
func (h *fakeHost) Authenticate(context.Context, string) (ldp.Principal, error) {
	return ldp.Principal{}, acl.ErrInvalidKey
}
func (h *fakeHost) CredentialActive(_ context.Context, pr ldp.Principal) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.revoked[pr.KeyID], nil
}
func (h *fakeHost) ContainerETag(context.Context, string) (string, bool, error) {
	return "", false, nil
}
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
func (s *countSink) drop(string)        {}
func (s *countSink) known() *knownState { return nil }

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
	q := deliver.New(deliver.Config{Store: st})
	if n, err = New(Config{Store: st, Host: host, URLs: testURLs(), Queue: q}); err != nil {
		t.Fatal(err)
	}
	q.Start()
	t.Cleanup(func() {
		n.Close()
		q.Close()
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
		n.join(ctx, ch, s)
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

// A change is not sent on a channel whose creator's API key was revoked,
// and the channel is removed, closing its connections; a channel of
// another key of the same app still gets it.
func TestDispatchRevokedCredential(t *testing.T) {
	host := &fakeHost{revoked: map[string]bool{}}
	n, st := testNotifier(t, host)
	ctx := context.Background()
	sinks := map[string]*countSink{}
	for _, key := range []string{"k1", "k2"} {
		r := wsRecord(key, "/alice/w", "http://pods.test/alice/profile/card#me")
		r.KeyID = key
		ch, err := n.create(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		s := &countSink{want: 1, done: make(chan struct{})}
		n.join(ctx, ch, s)
		sinks[key] = s
	}
	host.mu.Lock()
	host.revoked["k1"] = true
	host.mu.Unlock()
	put(t, st, "/alice/w", `{}`)
	select {
	case <-sinks["k2"].done:
	case <-time.After(5 * time.Second):
		t.Fatal("the channel of the live key got nothing")
	}
	deadline := time.Now().Add(5 * time.Second)
	for n.lookup("k1") != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n.lookup("k1") != nil {
		t.Error("the channel of the revoked key is still there")
	}
	if got := sinks["k1"].got.Load(); got != 0 {
		t.Errorf("the channel of the revoked key got %d notifications", got)
	}
}

// An agent may have at most MaxPushChannelsPerAgent push channels on one
// pod (429 beyond); receiveFrom channels, other pods and other agents are
// not counted, and a removed channel frees its place.
func TestPushChannelQuota(t *testing.T) {
	n, _ := testNotifier(t, &fakeHost{})
	n.cfg.MaxPushChannelsPerAgent = 2
	ctx := context.Background()
	const alice, bob = "http://pods.test/alice/profile/card#me", "http://pods.test/bob/profile/card#me"
	mk := func(id, typ, pod, agent string) error {
		r := record{ID: id, Type: typ, Pod: pod, Path: "/" + pod + "/w", Agent: agent, SendTo: "https://hook.test/",
			EndAt: time.Now().Add(time.Hour), Media: "application/ld+json", Created: time.Now()}
		_, err := n.create(ctx, r)
		return err
	}
	for _, c := range []struct {
		id, typ, pod, agent string
		status              int // 0: made
	}{
		{"p1", TypeWebhook, "alice", bob, 0},
		{"p2", TypeLDN, "alice", bob, 0},
		{"p3", TypeWebhook, "alice", bob, http.StatusTooManyRequests},
		{"r1", TypeWebSocket, "alice", bob, 0},
		{"p4", TypeWebhook, "bob", bob, 0},
		{"p5", TypeWebhook, "alice", alice, 0},
	} {
		err := mk(c.id, c.typ, c.pod, c.agent)
		if c.status == 0 && err != nil || c.status != 0 && apierr.Status(err) != c.status {
			t.Errorf("%s: %v, want status %d", c.id, err, c.status)
		}
	}
	if err := n.remove(ctx, n.lookup("p1"), "test"); err != nil {
		t.Fatal(err)
	}
	if err := mk("p6", TypeWebhook, "alice", bob); err != nil {
		t.Errorf("after a removal: %v", err)
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
		n.join(ctx, ch, s)
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

// A notifier follows what another node writes to the shared store: a
// channel record created there becomes known here (a receiver may connect
// to any node), one deleted there is closed here; a resource change
// committed there reaches this node's connections, but its push
// notifications are queued by the node that committed it, not here.
func TestFollowOtherNodes(t *testing.T) {
	var n *Notifier
	var remote atomic.Bool
	st, err := store.Open(store.Options{InMemory: true, ChangePrefixes: []string{store.PrefixResource, store.PrefixChannel},
		OnChange: func(c []store.Change) {
			for i := range c {
				c[i].Remote = remote.Load()
			}
			if n != nil {
				n.OnChange(c)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := deliver.New(deliver.Config{Store: st, Schedule: []time.Duration{time.Hour}})
	if n, err = New(Config{Store: st, Host: &fakeHost{}, URLs: testURLs(), Queue: q}); err != nil {
		t.Fatal(err)
	}
	q.Start()
	defer q.Close()
	defer n.Close()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Txn) error { return ldp.CreateRoot(tx, "/alice/", time.Now()) }); err != nil {
		t.Fatal(err)
	}

	// Channel records written by "another node".
	remote.Store(true)
	write := func(r record) {
		t.Helper()
		v, _ := json.Marshal(r)
		if err := st.Update(ctx, func(tx store.Txn) error { return tx.Set(channelKey(r.ID), v) }); err != nil {
			t.Fatal(err)
		}
	}
	write(wsRecord("ws", "/alice/w", "https://alice.example/#me"))
	write(pushRecord("hook", TypeWebhook, "http://127.0.0.1:9/hook", webhook.NewSecret()))
	ch := n.lookup("ws")
	if ch == nil || n.lookup("hook") == nil {
		t.Fatal("channels created on another node are not known here")
	}
	s := &countSink{want: 1, done: make(chan struct{})}
	if !n.join(ctx, ch, s) {
		t.Fatal("join")
	}

	// A change committed elsewhere: the connection hears of it, no push
	// is queued here.
	put(t, st, "/alice/w", `{}`)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection got no notification of a change another node committed")
	}
	// A change committed here: its push is queued here. The dispatcher
	// handles changes in order, so once this one's push is queued the
	// other's would be too: one record in all.
	remote.Store(false)
	put(t, st, "/alice/w", `{"a": 1}`)
	deadline := time.Now().Add(5 * time.Second)
	for countKeys(t, st, store.PrefixDelivery) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if k := countKeys(t, st, store.PrefixDelivery); k != 1 {
		t.Errorf("%d push records queued, want 1: this node's change only", k)
	}

	// Deleted elsewhere: closed here.
	remote.Store(true)
	if err := st.Update(ctx, func(tx store.Txn) error { return tx.Delete(channelKey("ws")) }); err != nil {
		t.Fatal(err)
	}
	if n.lookup("ws") != nil || !ch.closed {
		t.Error("a channel deleted on another node is still open here")
	}
}
