package pod_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/httpsig"
	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
)

// remoteServer starts a server that may deliver to other servers on
// loopback.
func remoteServer(t testing.TB) *pod.Server {
	t.Helper()
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	return s
}

// allowRemote lets publisher (a WebID on another server) publish
// realestate/contact to pod of s, and crm of s subscribe to it.
func allowRemote(t testing.TB, s *pod.Server, pod, key, publisher string) {
	t.Helper()
	body := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + publisher + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + s.WebID("crm") + `","subscribes":["realestate/contact"]}]}`
	r := evDo(t, evReq{method: "PUT", url: s.PodRoot(pod) + "settings/subscriptions", key: key, body: body, ctype: ldp.MediaJSONLD})
	if r.status != http.StatusCreated && r.status != http.StatusNoContent {
		t.Fatalf("PUT settings/subscriptions: %d %s", r.status, r.body)
	}
}

// waitCopies polls pod's inbox until it holds want copies of id (or the
// deadline passes) and returns the count.
func waitCopies(t testing.TB, s *pod.Server, pod, key, id string, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := countID(allCopies(t, s, pod, key), id)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Publishing on server A to a recipient on server B: the copy travels as a
// signed LDN POST, B checks its settings, stores it once and hands it to
// its own subscriber.
func TestDeliveryRemoteLDN(t *testing.T) {
	a, b := remoteServer(t), remoteServer(t)
	allowRemote(t, b, "alice", evKeys.alice, a.WebID("producer"))
	ev := `{"recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction","object":{"name":"Bruce Wayne"}}}`
	r := evDo(t, evReq{method: "POST", url: a.PodRoot("producer") + "publish/?wait=10", key: evKeys.producer, body: ev})
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	if !strings.Contains(r.body, `"target":"`+b.WebID("alice")+`","status":"delivered"`) {
		t.Errorf("?wait deliveries: %s", r.body)
	}
	if n := waitCopies(t, b, "alice", evKeys.alice, id, 1); n != 1 {
		t.Fatalf("alice on B: %d copies of %s, want 1", n, id)
	}
	if n := waitCopies(t, b, "crm", evKeys.crm, id, 1); n != 1 {
		t.Fatalf("crm on B: %d copies of %s, want 1", n, id)
	}
	c := allCopies(t, b, "alice", evKeys.alice)[0]
	if c["agent"] != a.WebID("producer") || c["recipient"] != b.WebID("alice") || c["topic"] != "realestate/contact#add" {
		t.Errorf("copy on B: %v", c)
	}
	// Nothing arrived on A's own pods.
	if n := len(allCopies(t, a, "alice", evKeys.alice)); n != 0 {
		t.Errorf("alice on A got %d copies", n)
	}

	// A publisher B's alice does not allow: refused by B, a dead letter on A.
	ev2 := `{"recipient":"` + b.WebID("bob") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r = evDo(t, evReq{method: "POST", url: a.PodRoot("producer") + "publish/?wait=10", key: evKeys.producer, body: ev2})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"status":"failed"`) || !strings.Contains(r.body, "403") {
		t.Fatalf("publish to a pod that does not allow the publisher: %d %s", r.status, r.body)
	}
	if n := len(allCopies(t, b, "bob", evKeys.bob)); n != 0 {
		t.Errorf("bob on B got %d copies", n)
	}
}

// signedPost POSTs body to url signed with key under keyID, and returns
// the response and the request (to replay it).
func signedPost(t testing.TB, url, keyID string, key ed25519.PrivateKey, body string) (*http.Response, *http.Request) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ldp.MediaJSONLD)
	s := httpsig.Signer{KeyID: keyID, Key: key}
	if err := s.Sign(req, []byte(body)); err != nil {
		t.Fatal(err)
	}
	resp := send(t, req, body)
	return resp, req
}

func send(t testing.TB, req *http.Request, body string) *http.Response {
	t.Helper()
	req.Body = io.NopCloser(strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

func respBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The receiving inbox refuses a bad signature, a replayed request, a
// sender who is not the event's agent and a publisher its settings do not
// allow; a good signed copy is stored once.
func TestDeliveryReceiveSigned(t *testing.T) {
	a, b := remoteServer(t), remoteServer(t)
	allowRemote(t, b, "alice", evKeys.alice, a.WebID("producer"))
	key, keyID, err := a.SigningKey(context.Background(), "producer")
	if err != nil {
		t.Fatal(err)
	}
	inboxURL := b.PodRoot("alice") + "inbox/"
	event := func(agent string) (string, string) {
		id := a.PodRoot("producer") + "publish/" + ldp.NewID()
		return id, `{"id":"` + id + `","agent":"` + agent + `","recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	}

	id, body := event(a.WebID("producer"))
	resp, req := signedPost(t, inboxURL, keyID, key, body)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), inboxURL) {
		t.Fatalf("good signed copy: %d %s", resp.StatusCode, respBody(resp))
	}
	// The same request again: a replay.
	if resp := send(t, req, body); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(respBody(resp), "seen before") {
		t.Fatalf("replayed request: %d", resp.StatusCode)
	}
	// The same event newly signed: stored once.
	if resp, _ := signedPost(t, inboxURL, keyID, key, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("second delivery of one event: %d %s", resp.StatusCode, respBody(resp))
	}
	if n := countID(allCopies(t, b, "alice", evKeys.alice), id); n != 1 {
		t.Fatalf("alice on B holds %d copies of %s, want 1", n, id)
	}
	if n := countID(allCopies(t, b, "crm", evKeys.crm), id); n != 1 {
		t.Fatalf("crm on B holds %d copies of %s, want 1", n, id)
	}

	// Signed with another key under producer's key id: bad signature.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	_, body = event(a.WebID("producer"))
	if resp, _ := signedPost(t, inboxURL, keyID, other, body); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %s", resp.StatusCode, respBody(resp))
	}
	// A key id no profile publishes: unknown key.
	if resp, _ := signedPost(t, inboxURL, a.PodRoot("producer")+"profile/card#nokey", key, body); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d %s", resp.StatusCode, respBody(resp))
	}
	// A key whose profile cannot be fetched: 503, so the sender retries.
	if resp, _ := signedPost(t, inboxURL, "http://127.0.0.1:1/x/profile/card#key", key, body); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("unreachable key profile: %d %s", resp.StatusCode, respBody(resp))
	}
	// An old request (signed ten minutes ago): expired.
	_, body = event(a.WebID("producer"))
	old, _ := http.NewRequest(http.MethodPost, inboxURL, nil)
	old.Header.Set("Content-Type", ldp.MediaJSONLD)
	if err := (&httpsig.Signer{KeyID: keyID, Key: key, Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }}).Sign(old, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if resp := send(t, old, body); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(respBody(resp), "expired") {
		t.Fatalf("old request: %d", resp.StatusCode)
	}
	// Unsigned and without a key: anonymous, 401.
	if r := evDo(t, evReq{method: "POST", url: inboxURL, body: body, ctype: ldp.MediaJSONLD}); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous POST: %d %s", r.status, r.body)
	}
	// A body changed after signing: digest mismatch.
	req2, _ := http.NewRequest(http.MethodPost, inboxURL, nil)
	req2.Header.Set("Content-Type", ldp.MediaJSONLD)
	if err := (&httpsig.Signer{KeyID: keyID, Key: key}).Sign(req2, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if resp := send(t, req2, strings.Replace(body, "AddAction", "DeleteAction", 1)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("changed body: %d", resp.StatusCode)
	}
	// Producer signing a copy whose agent is someone else.
	_, body = event(a.WebID("alice"))
	if resp, _ := signedPost(t, inboxURL, keyID, key, body); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent not the signer: %d %s", resp.StatusCode, respBody(resp))
	}
	// A's alice is not allowed to publish to B's alice.
	akey, akeyID, err := a.SigningKey(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	id3 := a.PodRoot("alice") + "publish/" + ldp.NewID()
	body = `{"id":"` + id3 + `","agent":"` + a.WebID("alice") + `","recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{}}`
	resp, _ = signedPost(t, inboxURL, akeyID, akey, body)
	want := fmt.Sprintf(publish.MsgNotAuthorized, b.WebID("alice"), "realestate/contact#add")
	if got := respBody(resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(got, want) {
		t.Fatalf("publisher not allowed: %d %s", resp.StatusCode, got)
	}
}

// Three servers: A publishes to a recipient on B, whose settings name a
// subscriber on C; and A's own alice has a subscriber on C too. Each inbox
// gets one copy.
func TestDeliveryThreeServers(t *testing.T) {
	a, b, c := remoteServer(t), remoteServer(t), remoteServer(t)
	body := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + a.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + b.WebID("crm") + `","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + c.WebID("crm") + `","subscribes":["realestate/contact"]}]}`
	if r := evDo(t, evReq{method: "PUT", url: b.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: body, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT B settings: %d %s", r.status, r.body)
	}
	body = `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + a.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + c.WebID("bob") + `","subscribes":["realestate/contact"]}]}`
	if r := evDo(t, evReq{method: "PUT", url: a.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: body, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT A settings: %d %s", r.status, r.body)
	}
	ev := `{"recipient":"` + b.WebID("alice") + `","source":"` + a.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r := publishTo(t, a, "producer", evKeys.producer, ev)
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	for _, w := range []struct {
		s        *pod.Server
		name     string
		pod, key string
	}{
		{a, "A", "alice", evKeys.alice},
		{b, "B", "alice", evKeys.alice},
		{b, "B", "crm", evKeys.crm},
		{c, "C", "crm", evKeys.crm},
		{c, "C", "bob", evKeys.bob},
	} {
		if n := waitCopies(t, w.s, w.pod, w.key, id, 1); n != 1 {
			t.Errorf("%s on %s: %d copies, want 1", w.pod, w.name, n)
		}
	}
	waitQueuesIdle(t, a, b, c)
	copies := allCopies(t, c, "crm", evKeys.crm)
	if n := countID(copies, id); n != 1 {
		t.Fatalf("crm on C: %d copies after settling, want 1", n)
	}
	// The forwarded copy names the pod that forwarded it (B's alice).
	if copies[0]["agent"] != b.WebID("alice") || copies[0]["recipient"] != b.WebID("alice") {
		t.Errorf("crm on C: copy %v", copies[0])
	}
}

// The recipient's server is down when the event is published, then comes
// back: the queued delivery is retried and arrives once.
func TestDeliveryTargetDownThenUp(t *testing.T) {
	a := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, RetrySchedule: []time.Duration{
		200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second, time.Second, time.Second, time.Second}})
	bDir := t.TempDir()
	b, stopB := podtest.RunStoppable(t, pod.Options{DataDir: bDir, AllowPrivateTargets: true})
	allowRemote(t, b, "alice", evKeys.alice, a.WebID("producer"))
	bAddr := b.Addr()
	recipient := b.WebID("alice")
	stopB()

	ev := `{"recipient":"` + recipient + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r := evDo(t, evReq{method: "POST", url: a.PodRoot("producer") + "publish/?wait=5", key: evKeys.producer, body: ev})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"status":"pending"`) {
		t.Fatalf("publish while B is down: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	time.Sleep(500 * time.Millisecond)

	b2 := podtest.RunServer(t, pod.Options{Addr: bAddr, DataDir: bDir, AllowPrivateTargets: true})
	if n := waitCopies(t, b2, "alice", evKeys.alice, id, 1); n != 1 {
		t.Fatalf("alice on B after restart: %d copies, want 1", n)
	}
	if n := waitCopies(t, b2, "crm", evKeys.crm, id, 1); n != 1 {
		t.Fatalf("crm on B after restart: %d copies, want 1", n)
	}
	waitQueuesIdle(t, a, b2)
	if n := countID(allCopies(t, b2, "alice", evKeys.alice), id); n != 1 {
		t.Fatalf("alice on B: %d copies after settling, want 1", n)
	}
}

// A webhook named in the recipient's settings gets the event as a
// structured CloudEvent signed per Standard Webhooks; it fails twice and
// gets the event on the third attempt.
func TestDeliveryWebhook(t *testing.T) {

	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	type got struct {
		hdr  http.Header
		body []byte
	}
	var mu sync.Mutex
	var calls []got
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, got{r.Header.Clone(), b})
		n := len(calls)
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, RetrySchedule: []time.Duration{
		100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}})
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + s.WebID("crm") + `","subscribes":["realestate/contact"],"target":"` + hook.URL + `/events","secret":"` + secret + `"}]}`
	if r := evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: settings, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	ev := `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","causationId":"cause-1","data":{"type":"AddAction","object":{"name":"Bruce Wayne"}}}`
	r := publishTo(t, s, "producer", evKeys.producer, ev)
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitQueuesIdle(t, s)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("webhook got %d requests, want 3 (two failures, one success)", len(calls))
	}
	for i, c := range calls {
		if ct := c.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
			t.Errorf("call %d: Content-Type %q", i, ct)
		}
		// An independent Standard Webhooks check.
		msgID, ts := c.hdr.Get("webhook-id"), c.hdr.Get("webhook-timestamp")
		m := hmac.New(sha256.New, raw)
		m.Write([]byte(msgID + "." + ts + "."))
		m.Write(c.body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		if msgID == "" || c.hdr.Get("webhook-signature") != want {
			t.Errorf("call %d: signature %q (id %q, ts %q), want %q", i, c.hdr.Get("webhook-signature"), msgID, ts, want)
		}
		var ce map[string]any
		if err := json.Unmarshal(c.body, &ce); err != nil {
			t.Fatalf("call %d: %v: %s", i, err, c.body)
		}
		data, _ := ce["data"].(map[string]any)
		if ce["specversion"] != "1.0" || ce["id"] != id || ce["source"] != s.PodRoot("producer") || ce["type"] != "realestate/contact#add" ||
			ce["subject"] != s.WebID("alice") || ce["time"] == nil || ce["correlationid"] != id || ce["causationid"] != "cause-1" || data["type"] != "AddAction" {
			t.Errorf("call %d: CloudEvent %s", i, c.body)
		}
	}
	// The local subscriber and recipient inboxes are unaffected.
	if n := countID(allCopies(t, s, "alice", evKeys.alice), id); n != 1 {
		t.Errorf("alice: %d copies", n)
	}
}

// Profiles that cannot be delivered to end in a clear, recorded status
// (in the ?wait answer and in the outbox): a profile without ldp:inbox,
// one whose only inbox is not http(s) (not taken as an inbox) or one that does not parse is a dead
// letter at once; a profile that is not found is retried.
func TestDeliveryBadProfiles(t *testing.T) {
	profiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/noinbox/profile/card":
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = io.WriteString(w, `<#me> a <http://xmlns.com/foaf/0.1/Person> .`)
		case "/ftpinbox/profile/card":
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = io.WriteString(w, `<#me> <http://www.w3.org/ns/ldp#inbox> <ftp://files.example/inbox/> .`)
		case "/malformed/profile/card":
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = io.WriteString(w, `<#me> this is not turtle`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer profiles.Close()
	s := remoteServer(t)
	cases := []struct{ pod, status, msg string }{
		{"noinbox", "failed", "no ldp:inbox"},
		{"ftpinbox", "failed", "no ldp:inbox"}, // a non-http(s) inbox is not taken
		{"malformed", "failed", "malformed profile"},
		{"missing", "pending", "404"},
	}
	for _, c := range cases {
		webID := profiles.URL + "/" + c.pod + "/profile/card#me"
		ev := `{"recipient":"` + webID + `","topic":"realestate/contact#add","data":{}}`
		r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=5", key: evKeys.producer, body: ev})
		if r.status != http.StatusCreated {
			t.Fatalf("%s: publish: %d %s", c.pod, r.status, r.body)
		}
		var res struct {
			Deliveries []struct{ Target, Status, Error string }
		}
		if err := json.Unmarshal([]byte(r.body), &res); err != nil || len(res.Deliveries) != 1 {
			t.Fatalf("%s: %v %s", c.pod, err, r.body)
		}
		d := res.Deliveries[0]
		if d.Target != webID || d.Status != c.status || !strings.Contains(d.Error, c.msg) {
			t.Errorf("%s: delivery %+v, want status %s and an error with %q", c.pod, d, c.status, c.msg)
		}
		o := evDo(t, evReq{method: "GET", url: s.PodRoot("producer") + "outbox/?status=" + c.status, key: evKeys.producerOwner})
		if !strings.Contains(o.body, `"target":"`+webID+`"`) || !strings.Contains(o.body, c.msg) {
			t.Errorf("%s: outbox ?status=%s: %s", c.pod, c.status, o.body)
		}
	}
}

// A webhook that refuses (400) makes a dead letter, listed in the outbox/
// of the pod whose settings name the webhook (alice's, not the
// producer's) for its owner; the owner retries it once the receiver is
// fixed and it arrives.
func TestDeliveryOutboxRetry(t *testing.T) {
	var mu sync.Mutex
	refuse := true
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			http.Error(w, "bad hook config", http.StatusBadRequest)
			return
		}
		got = append(got, string(b))
	}))
	defer hook.Close()
	s := remoteServer(t)
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + s.WebID("crm") + `","subscribes":["realestate/contact"],"target":"` + hook.URL + `/","secret":"whsec_` + base64.StdEncoding.EncodeToString(raw) + `"}]}`
	if r := evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: settings, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=5", key: evKeys.producer,
		body: `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{}}`})
	// ?wait waited for the webhook, but reports to the producer only the
	// recipient it addressed: the webhook is alice's business.
	if r.status != http.StatusCreated || strings.Contains(r.body, hook.URL) || strings.Contains(r.body, "bad hook config") ||
		!strings.Contains(r.body, `"target":"`+s.PodRoot("alice")+`inbox/","status":"delivered"`) {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	id := r.hdr.Get("Location")
	outbox := s.PodRoot("alice") + "outbox/"
	// The producer's outbox does not list alice's webhook.
	if r := evDo(t, evReq{method: "GET", url: s.PodRoot("producer") + "outbox/", key: evKeys.producerOwner}); r.status != http.StatusOK ||
		strings.Contains(r.body, hook.URL) || !strings.Contains(r.body, `"items":[]`) {
		t.Errorf("producer's outbox: %d %s", r.status, r.body)
	}
	// Not for other pods' keys or owners.
	for _, k := range []string{evKeys.producer, evKeys.producerOwner, evKeys.bob} {
		if r := evDo(t, evReq{method: "GET", url: outbox, key: k}); r.status != http.StatusForbidden {
			t.Errorf("outbox with key %s: %d %s", k, r.status, r.body)
		}
	}
	if r := evDo(t, evReq{method: "GET", url: outbox}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous outbox: %d", r.status)
	}
	var page struct {
		Contains []string
		Items    []struct {
			ID, EventID, Target, Status, LastError string
			Attempts                               int
		}
	}
	r = evDo(t, evReq{method: "GET", url: outbox + "?status=failed", key: evKeys.alice})
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != 200 || len(page.Items) != 1 {
		t.Fatalf("outbox: %d %s", r.status, r.body)
	}
	it := page.Items[0]
	if it.EventID != id || it.Target != hook.URL+"/" || it.Status != "failed" || it.Attempts != 1 || !strings.Contains(it.LastError, "400") || page.Contains[0] != it.ID {
		t.Fatalf("outbox item: %+v", it)
	}
	if r := evDo(t, evReq{method: "GET", url: outbox + "?status=pending", key: evKeys.alice}); !strings.Contains(r.body, `"items":[]`) {
		t.Errorf("pending: %s", r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: it.ID, key: evKeys.alice}); r.status != 200 || !strings.Contains(r.body, `"status":"failed"`) {
		t.Errorf("GET record: %d %s", r.status, r.body)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	if r := evDo(t, evReq{method: "POST", url: it.ID, key: evKeys.alice}); r.status != http.StatusAccepted {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 1 || !strings.Contains(got[0], id) {
		t.Errorf("webhook after the retry: %v", got)
	}
	mu.Unlock()
	// Delivered: listed as delivered (once the sender has read the
	// webhook's answer, which is just after the webhook saw the body); it
	// cannot be retried.
	for deadline := time.Now().Add(5 * time.Second); ; {
		r := evDo(t, evReq{method: "GET", url: it.ID, key: evKeys.alice})
		if r.status == http.StatusOK && strings.Contains(r.body, `"status":"delivered"`) && strings.Contains(r.body, `"lastStatus":200`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET delivered record: %d %s", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := evDo(t, evReq{method: "POST", url: it.ID, key: evKeys.alice}); r.status != http.StatusConflict {
		t.Errorf("retry of a delivered record: %d %s", r.status, r.body)
	}
	r = evDo(t, evReq{method: "GET", url: outbox + "?status=delivered", key: evKeys.alice})
	page.Items = nil
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != 200 || len(page.Items) != 1 || page.Items[0].ID != it.ID || page.Items[0].Attempts != 1 {
		t.Errorf("?status=delivered: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: outbox + "?status=failed", key: evKeys.alice}); !strings.Contains(r.body, `"items":[]`) {
		t.Errorf("failed after the retry: %s", r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: outbox + "?status=done", key: evKeys.alice}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "pending, failed or delivered") {
		t.Errorf("?status=done: %d %s", r.status, r.body)
	}
}

// A plain signed LDN notification (no event id) is stored as sent; the
// listing shows it whole as its "notification", with the verified sender
// as its agent.
func TestDeliverySignedPlainNotification(t *testing.T) {
	a, b := remoteServer(t), remoteServer(t)
	key, keyID, err := a.SigningKey(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce","agent":"https://spoofed.example/#me","summary":"hello"}`
	resp, _ := signedPost(t, b.PodRoot("crm")+"inbox/", keyID, key, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("plain notification: %d %s", resp.StatusCode, respBody(resp))
	}
	copies := allCopies(t, b, "crm", evKeys.crm)
	n, _ := copies[0]["notification"].(map[string]any)
	if len(copies) != 1 || n["summary"] != "hello" || n["agent"] != "https://spoofed.example/#me" || copies[0]["agent"] != a.WebID("bob") {
		t.Fatalf("crm on B: %v", copies)
	}
}

// TestDeliveryPrivateTargetRefused: without AllowPrivateTargets a recipient
// on another server at a loopback address is accepted (the receiving server
// decides on permission), but the delivery is refused at dial time and
// recorded in the outbox, never sent.
func TestDeliveryPrivateTargetRefused(t *testing.T) {
	b := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	a := podtest.RunServer(t, pod.Options{})
	body := `{"recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r := do(t, a.BaseURL(), call{method: "POST", path: "/producer/publish/", key: producerApp, ctype: "application/json", body: body})
	if r.status != 201 {
		t.Fatalf("publish to a remote recipient: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := do(t, a.BaseURL(), call{method: "GET", path: "/producer/outbox/", key: producerOwner})
		if o.status == 200 && strings.Contains(o.body, "refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refused delivery recorded in the outbox: %d %s", o.status, o.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if in := do(t, b.BaseURL(), call{method: "GET", path: "/alice/inbox/?format=ids", key: aliceKey}); strings.Contains(in.body, "/inbox/0") {
		t.Errorf("a refused target received the copy: %s", in.body)
	}
}
