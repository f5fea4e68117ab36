package pod_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/httpsig"
	"podserver/pod"
	"podserver/webhook"
)

// ntHook is a webhook receiver that records what it is sent.
type ntHook struct {
	addr string
	srv  *http.Server
	got  chan ntHookReq
	mu   sync.Mutex
	code int // status to answer (200 by default)
}

type ntHookReq struct {
	req  *http.Request
	hdr  http.Header
	body []byte
}

// ntStartHook listens on addr ("127.0.0.1:0" for any port).
func ntStartHook(t testing.TB, addr string) *ntHook {
	t.Helper()
	h := &ntHook{got: make(chan ntHookReq, 64)}
	h.listen(t, addr)
	return h
}

func (h *ntHook) listen(t testing.TB, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port of a stopped hook may linger briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		code := h.code
		h.mu.Unlock()
		if code == 0 {
			code = 200
		}
		h.got <- ntHookReq{req: r.Clone(context.Background()), hdr: r.Header.Clone(), body: b}
		w.WriteHeader(code)
	})}
	go h.srv.Serve(ln)
	t.Cleanup(func() { h.srv.Close() })
}

func (h *ntHook) url() string { return "http://" + h.addr + "/hook" }

func (h *ntHook) next(t testing.TB, d time.Duration) ntHookReq {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-time.After(d):
		t.Fatalf("webhook got nothing within %v", d)
	}
	return ntHookReq{}
}

// WebhookChannel2023: notifications are POSTed to sendTo, signed with the
// secret the subscription response gave.
func TestNotifyWebhook(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	hook := ntStartHook(t, "127.0.0.1:0")
	ch := ntSubscribe(t, s, "alice", "WebhookChannel2023", ntAlice, map[string]any{"topic": root + "hooked", "sendTo": hook.url()})
	if ch.SendTo != hook.url() || ch.Sender != s.WebID("alice") || !strings.HasPrefix(ch.Secret, "whsec_") || ch.ReceiveFrom != "" {
		t.Fatalf("webhook channel: %+v", ch)
	}
	// The secret is shown once.
	if r := ntDo(t, "GET", ch.ID, ntAlice, "", ""); strings.Contains(r.body, "whsec_") {
		t.Errorf("secret shown again: %s", r.body)
	}
	etag := ntPut(t, root+"hooked", ntAlice, `{"http://schema.org/name": "x"}`)
	req := hook.next(t, 5*time.Second)
	m := ntParse(t, req.body)
	ntExpect(t, m, "Create", root+"hooked", "")
	if m.State != etag {
		t.Errorf("state %q want %q", m.State, etag)
	}
	if ct := req.hdr.Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if req.hdr.Get("webhook-id") != m.ID {
		t.Errorf("webhook-id %q, notification id %q", req.hdr.Get("webhook-id"), m.ID)
	}
	if err := webhook.Verify(ch.Secret, req.hdr, req.body, 5*time.Minute); err != nil {
		t.Errorf("signature: %v (headers %v)", err, req.hdr)
	}
	if err := webhook.Verify("whsec_"+strings.Repeat("A", 44), req.hdr, req.body, 5*time.Minute); err == nil {
		t.Error("signature verifies with another secret")
	}
	ntVerifyPod(t, s, "alice", req)
	// A 4xx other than 408/429 ends the notification without retries.
	hook.mu.Lock()
	hook.code = 410
	hook.mu.Unlock()
	ntPut(t, root+"hooked", ntAlice, `{"http://schema.org/name": "y"}`)
	hook.next(t, 5*time.Second)
	select {
	case r := <-hook.got:
		t.Errorf("retried after 410: %s", r.body)
	case <-time.After(1500 * time.Millisecond):
	}
}

// A webhook subscriber that is down gets the notification after it comes
// back.
func TestNotifyWebhookDown(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	hook := ntStartHook(t, "127.0.0.1:0")
	addr := hook.addr
	ch := ntSubscribe(t, s, "alice", "WebhookChannel2023", ntAlice, map[string]any{"topic": root + "later", "sendTo": hook.url()})
	hook.srv.Close() // down
	ntPut(t, root+"later", ntAlice, `{"http://schema.org/name": "x"}`)
	time.Sleep(300 * time.Millisecond) // the first attempt fails
	hook.listen(t, addr)               // back
	req := hook.next(t, 15*time.Second)
	ntExpect(t, ntParse(t, req.body), "Create", root+"later", "")
	if err := webhook.Verify(ch.Secret, req.hdr, req.body, 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
}

// A queued webhook notification survives a restart of the server.
func TestNotifyWebhookQueueSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s1, stop1 := ntServer(t, "", dir)
	addr := s1.Addr()
	root := s1.PodRoot("alice")
	hook := ntStartHook(t, "127.0.0.1:0")
	hookAddr := hook.addr
	ntSubscribe(t, s1, "alice", "WebhookChannel2023", ntAlice, map[string]any{"topic": root + "durable", "sendTo": hook.url()})
	hook.srv.Close()
	ntPut(t, root+"durable", ntAlice, `{"http://schema.org/name": "x"}`)
	time.Sleep(300 * time.Millisecond)
	stop1()

	hook.listen(t, hookAddr)
	ntServer(t, addr, dir)
	ntExpect(t, ntParse(t, hook.next(t, 10*time.Second).body), "Create", root+"durable", "")
}

// LDNChannel2023 to an inbox of this server: notifications become items of
// bob's inbox, so bob follows alice's resource through his own inbox (the
// items name bob, who made the channel, as their agent: alice's pod sends
// nothing in its own name for him); and to a remote inbox: notifications
// are POSTed there, signed by alice's pod when alice made the channel.
func TestNotifyLDN(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	bobInbox := s.PodRoot("bob") + "inbox/"
	ntGrantRead(t, s, "shared/", true)

	// Bob's app watches his inbox.
	watch := ntSubscribe(t, s, "bob", "WebSocketChannel2023", ntBob, map[string]any{"topic": bobInbox})
	ws := ntDial(t, watch.ReceiveFrom)
	ldn := ntSubscribe(t, s, "alice", "LDNChannel2023", ntBob, map[string]any{"topic": root + "shared/news", "sendTo": bobInbox})
	if ldn.SendTo != bobInbox || ldn.Sender != "" {
		t.Fatalf("ldn channel: %+v", ldn)
	}
	ntPut(t, root+"shared/news", ntAlice, `{"http://schema.org/name": "x"}`)
	add := ws.nextMsg(t)
	if add.Type != "Add" || add.Target != bobInbox {
		t.Fatalf("bob's inbox: %+v", add)
	}
	item := ntDo(t, "GET", add.Object, ntBob, "", "", "Accept", "application/ld+json")
	if item.status != 200 {
		t.Fatalf("inbox item: %d %s", item.status, item.body)
	}
	var copy struct {
		Agent  string `json:"agent"`
		Type   string `json:"type"`
		Object string `json:"object"`
	}
	if err := json.Unmarshal([]byte(item.body), &copy); err != nil {
		t.Fatal(err)
	}
	if copy.Agent != s.WebID("bob") || copy.Type != "Create" || copy.Object != root+"shared/news" {
		t.Errorf("inbox copy: %s", item.body)
	}

	// An inbox of this server needs Append: alice's private container is
	// no LDN inbox for bob.
	r := ntSubscribeRaw(t, s, "alice", "LDNChannel2023", ntBob, map[string]any{"topic": root + "shared/news", "sendTo": root + "shared/"})
	if r.status != 403 {
		t.Errorf("LDN into a container bob cannot append to: %d %s", r.status, r.body)
	}
	// A channel cannot post into its own topic.
	r = ntSubscribeRaw(t, s, "bob", "LDNChannel2023", ntBob, map[string]any{"topic": bobInbox, "sendTo": bobInbox})
	if r.status != 422 {
		t.Errorf("LDN channel on its own inbox: %d %s", r.status, r.body)
	}

	// A remote LDN inbox gets a POST.
	remote := ntStartHook(t, "127.0.0.1:0")
	own := ntSubscribe(t, s, "alice", "LDNChannel2023", ntAlice, map[string]any{"topic": root + "shared/news", "sendTo": remote.url()})
	if own.Sender != s.WebID("alice") {
		t.Errorf("alice's own LDN channel: sender %q", own.Sender)
	}
	ntPut(t, root+"shared/news", ntAlice, `{"http://schema.org/name": "y"}`)
	req := remote.next(t, 5*time.Second)
	ntExpect(t, ntParse(t, req.body), "Update", root+"shared/news", "")
	if req.hdr.Get("Content-Type") != "application/ld+json" {
		t.Errorf("LDN Content-Type %q", req.hdr.Get("Content-Type"))
	}
	ntVerifyPod(t, s, "alice", req)
}

// Two LDN channels that feed each other's inboxes do not loop: items an LDN
// channel wrote are not notified to push channels.
func TestNotifyLDNNoLoop(t *testing.T) {
	s, _ := ntServer(t, "", "")
	aliceInbox, bobInbox := s.PodRoot("alice")+"inbox/", s.PodRoot("bob")+"inbox/"
	// Each owner forwards their inbox to the other's inbox.
	ntSubscribe(t, s, "alice", "LDNChannel2023", ntAlice, map[string]any{"topic": aliceInbox, "sendTo": bobInbox})
	ntSubscribe(t, s, "bob", "LDNChannel2023", ntBob, map[string]any{"topic": bobInbox, "sendTo": aliceInbox})
	watch := ntSubscribe(t, s, "bob", "WebSocketChannel2023", ntBob, map[string]any{"topic": bobInbox})
	ws := ntDial(t, watch.ReceiveFrom)
	if r := ntDo(t, "POST", aliceInbox, ntCRM, "application/ld+json", `{"summary": "once"}`); r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	ws.nextMsg(t) // the forwarded copy arrives in bob's inbox
	ws.quiet(t, time.Second)
	r := ntDo(t, "GET", aliceInbox+"?format=ids", ntAlice, "", "", "Accept", "application/ld+json")
	var listing struct {
		Contains []string `json:"contains"`
	}
	if err := json.Unmarshal([]byte(r.body), &listing); err != nil || len(listing.Contains) != 1 {
		t.Errorf("alice's inbox should hold the one item: %s", r.body)
	}
}

// ntVerifyPod checks that a received push request is signed with pod's key
// (HTTP Message Signatures).
func ntVerifyPod(t testing.TB, s *pod.Server, podName string, r ntHookReq) {
	t.Helper()
	key, keyID, err := s.SigningKey(context.Background(), podName)
	if err != nil {
		t.Fatal(err)
	}
	v := &httpsig.Verifier{Resolve: func(ctx context.Context, id string) (ed25519.PublicKey, error) {
		if id != keyID {
			return nil, fmt.Errorf("unknown key %s", id)
		}
		return key.Public().(ed25519.PublicKey), nil
	}}
	got, err := v.Verify(context.Background(), r.req, r.body)
	if err != nil || got != keyID {
		t.Errorf("HTTP signature: key %q, %v (Signature-Input %q)", got, err, r.hdr.Get("Signature-Input"))
	}
}
