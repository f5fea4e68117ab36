package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/ldp"
	"podserver/store"
	"podserver/webhook"
)

// outcomes collects the delivery queue's attempt outcomes by channel.
type outcomes struct {
	mu   sync.Mutex
	seen map[string][]string
	ch   chan struct{}
}

func newOutcomes() *outcomes {
	return &outcomes{seen: map[string][]string{}, ch: make(chan struct{}, 256)}
}

func (o *outcomes) record(r deliver.Record, outcome string, _ time.Duration) {
	o.mu.Lock()
	o.seen[r.Channel] = append(o.seen[r.Channel], outcome)
	o.mu.Unlock()
	select {
	case o.ch <- struct{}{}:
	default:
	}
}

// wait waits until each channel in want has had the outcome want names.
func (o *outcomes) wait(t *testing.T, want map[string]string) map[string][]string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		done := true
		for ch, w := range want {
			s := o.seen[ch]
			if len(s) == 0 || s[len(s)-1] != w {
				done = false
			}
		}
		if done {
			cp := map[string][]string{}
			for k, v := range o.seen {
				cp[k] = append([]string(nil), v...)
			}
			o.mu.Unlock()
			return cp
		}
		o.mu.Unlock()
		select {
		case <-o.ch:
		case <-deadline:
			o.mu.Lock()
			defer o.mu.Unlock()
			t.Fatalf("outcomes %v, want %v", o.seen, want)
		}
	}
}

// pushNotifier starts a notifier on st with its own delivery queue; stop
// closes both (not the store).
func pushNotifier(t *testing.T, st store.Store, host Host, retry []time.Duration, client *http.Client, o *outcomes) (n *Notifier, stop func()) {
	t.Helper()
	qc := deliver.Config{Store: st}
	if o != nil {
		qc.OnAttempt = o.record
	}
	q := deliver.New(qc)
	n, err := New(Config{Store: st, Host: host, URLs: testURLs(), Queue: q, Retry: retry, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			n.Close()
			q.Close()
		})
	}
	t.Cleanup(stop)
	return n, stop
}

func pushRecord(id, typ, sendTo, secret string) record {
	return record{ID: id, Type: typ, Pod: "alice", Path: "/alice/w", Agent: "http://pods.test/alice/profile/card#me", KeyPod: "alice",
		SendTo: sendTo, Secret: secret, EndAt: time.Now().Add(time.Hour), Media: "application/ld+json", Created: time.Now()}
}

func countKeys(t *testing.T, st store.Store, prefix string) int {
	t.Helper()
	n := 0
	if err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(prefix), nil, false, func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// notifyingStore opens a store (in memory when dir is "") that reports
// its resource writes to the notifier in cur, once there is one.
func notifyingStore(t *testing.T, dir string, cur *atomic.Pointer[Notifier]) store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, InMemory: dir == "", ChangePrefixes: []string{store.PrefixResource},
		OnChange: func(c []store.Change) {
			if n := cur.Load(); n != nil {
				n.OnChange(c)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type hookReq struct {
	hdr  http.Header
	body []byte
}

// Webhook pushes go through the delivery queue: retried on the channel
// schedule (408/429/5xx, Retry-After honoured), ended by another 4xx or a
// secret that cannot sign, signed per Standard Webhooks with the channel's
// secret, and removed from the store once delivered or dropped.
func TestPushWebhook(t *testing.T) {
	var cur atomic.Pointer[Notifier]
	st := notifyingStore(t, "", &cur)
	var mu sync.Mutex
	calls := map[string]int{}
	var last hookReq
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		mu.Unlock()
		switch {
		case r.URL.Path == "/gone":
			w.WriteHeader(http.StatusGone)
		case n == 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case n == 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			mu.Lock()
			last = hookReq{hdr: r.Header.Clone(), body: b}
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	o := newOutcomes()
	schedule := []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	n, _ := pushNotifier(t, st, &fakeHost{}, schedule, srv.Client(), o)
	cur.Store(n)
	if err := st.Update(context.Background(), func(tx store.Txn) error { return ldp.CreateRoot(tx, "/alice/", time.Now()) }); err != nil {
		t.Fatal(err)
	}
	secret := webhook.NewSecret()
	for _, r := range []record{
		pushRecord("ok", TypeWebhook, srv.URL+"/ok", secret),
		pushRecord("gone", TypeWebhook, srv.URL+"/gone", secret),
		pushRecord("badsecret", TypeWebhook, srv.URL+"/badsecret", "nope!"),
	} {
		if _, err := n.create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	put(t, st, "/alice/w", `{}`)
	got := o.wait(t, map[string]string{"ok": deliver.OutcomeDelivered, "gone": deliver.OutcomeDead, "badsecret": deliver.OutcomeDead})
	mu.Lock()
	defer mu.Unlock()
	if calls["/ok"] != 3 || calls["/gone"] != 1 || calls["/badsecret"] != 0 {
		t.Errorf("calls %v: want /ok 3 (503, 429, 204), /gone 1, /badsecret 0", calls)
	}
	if s := got["ok"]; len(s) != 3 || s[0] != deliver.OutcomeRetry || s[1] != deliver.OutcomeRetry {
		t.Errorf("outcomes of ok: %v", s)
	}
	var msg struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(last.body, &msg); err != nil || !strings.HasPrefix(msg.ID, "urn:uuid:") {
		t.Fatalf("notification %s: %v", last.body, err)
	}
	if last.hdr.Get(webhook.HeaderID) != msg.ID || last.hdr.Get("Content-Type") != "application/ld+json" {
		t.Errorf("headers %v for notification %s", last.hdr, msg.ID)
	}
	now := time.Now()
	if err := webhook.VerifyAt(secret, last.hdr, last.body, time.Minute, now); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := webhook.VerifyAt(secret, last.hdr, []byte(`{"a":2}`), time.Minute, now); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("tampered body: %v", err)
	}
	if err := webhook.VerifyAt(secret, last.hdr, last.body, time.Minute, now.Add(10*time.Minute)); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("old timestamp: %v", err)
	}
	if err := webhook.VerifyAt(webhook.NewSecret(), last.hdr, last.body, time.Minute, now); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("another secret: %v", err)
	}
	for _, p := range []string{store.PrefixDelivery, store.PrefixOutbox, store.PrefixDeliveryIndex, store.PrefixChannel + "q"} {
		if c := countKeys(t, st, p); c != 0 {
			t.Errorf("%d keys left under %q", c, p)
		}
	}
}

// inboxHost records the notifications appended to local inboxes, or fails.
type inboxHost struct {
	fakeHost
	fail error
	got  chan string // inbox + " " + id
}

func (h *inboxHost) AppendInbox(_ context.Context, inbox, id string, body []byte, _ func(string)) error {
	if h.fail != nil {
		return h.fail
	}
	if !strings.Contains(string(body), `"agent":"http://pods.test/alice/profile/card#me"`) {
		return errors.New("no agent in " + string(body))
	}
	h.got <- inbox + " " + id
	return nil
}

// A push that failed is stored and delivered after a restart (LDN to an
// inbox of this server).
func TestPushSurvivesRestart(t *testing.T) {
	var cur atomic.Pointer[Notifier]
	st := notifyingStore(t, t.TempDir(), &cur)
	o := newOutcomes()
	// The first notifier fails every attempt; its schedule is long enough
	// that the push is never dropped before it stops.
	retry := []time.Duration{300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, time.Hour}
	n1, stop1 := pushNotifier(t, st, &inboxHost{fail: errors.New("down")}, retry, nil, o)
	cur.Store(n1)
	if err := st.Update(context.Background(), func(tx store.Txn) error { return ldp.CreateRoot(tx, "/alice/", time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.create(context.Background(), pushRecord("ldn", TypeLDN, "http://pods.test/bob/inbox/", "")); err != nil {
		t.Fatal(err)
	}
	put(t, st, "/alice/w", `{}`)
	o.wait(t, map[string]string{"ldn": deliver.OutcomeRetry})
	cur.Store(nil)
	stop1()
	if c := countKeys(t, st, store.PrefixDelivery); c != 1 {
		t.Fatalf("%d queued after the first notifier stopped, want 1", c)
	}

	host := &inboxHost{got: make(chan string, 4)}
	pushNotifier(t, st, host, retry, nil, nil)
	select {
	case got := <-host.got:
		if !strings.HasPrefix(got, "/bob/inbox/ urn:uuid:") {
			t.Errorf("delivered %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the queued push was not delivered after the restart")
	}
}

// Pushes queued by the notifier's former retry queue (store.PrefixChannel
// + "q") are moved onto the delivery queue at start and delivered; those
// of a channel that is gone are dropped.
func TestPushAdoptsLegacyQueue(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ch := pushRecord("ldn", TypeLDN, "http://pods.test/bob/inbox/", "")
	chv, _ := json.Marshal(ch)
	legacy := func(seq uint64, channel, id string) (k, v []byte) {
		v, _ = json.Marshal(map[string]any{
			"seq": seq, "push": map[string]any{"channel": channel, "id": id, "body": []byte(`{"type":"Update"}`), "contentType": "application/ld+json"},
			"attempts": 1, "due": time.Now(), "created": time.Now(),
		})
		return store.AppendUint64([]byte(store.PrefixChannel+"q"), seq), v
	}
	if err := st.Update(context.Background(), func(tx store.Txn) error {
		if err := tx.Set(channelKey(ch.ID), chv); err != nil {
			return err
		}
		for i, c := range []string{"ldn", "gone"} {
			k, v := legacy(uint64(i+1), c, "urn:uuid:"+c)
			if err := tx.Set(k, v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	host := &inboxHost{got: make(chan string, 4)}
	pushNotifier(t, st, host, nil, nil, nil)
	select {
	case got := <-host.got:
		if got != "/bob/inbox/ urn:uuid:ldn" {
			t.Errorf("delivered %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the legacy queued push was not delivered")
	}
	if c := countKeys(t, st, store.PrefixChannel+"q"); c != 0 {
		t.Errorf("%d legacy queue keys left", c)
	}
	select {
	case got := <-host.got:
		t.Errorf("delivered %q too", got)
	default:
	}
}
