package pod_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/adminapi"
	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
	"podserver/store"
)

const testOperatorKey = "op_test_operator_key_0123456789"

// adminServer starts a server over dir (new when "") with the demo pods and
// the operator key testOperatorKey.
func adminServer(t *testing.T, opts pod.Options) (*pod.Server, *adminapi.Client) {
	t.Helper()
	if opts.OperatorKey == "" {
		opts.OperatorKey = testOperatorKey
	}
	s := podtest.RunServer(t, opts)
	return s, &adminapi.Client{BaseURL: s.BaseURL(), Key: opts.OperatorKey}
}

// adminDo sends an operator API request with key sent as hdr ("Authorization"
// gets "Bearer KEY").
func adminDo(t *testing.T, s *pod.Server, method, path, hdr, key, body string) evResp {
	t.Helper()
	h := map[string]string{}
	switch hdr {
	case "Authorization":
		h[hdr] = "Bearer " + key
	case "":
	default:
		h[hdr] = key
	}
	return evDo(t, evReq{method: method, url: s.BaseURL() + path, body: body, hdr: h})
}

// TestAdminAuth: every operator route but /admin/register answers 401 with
// a JSON error without the operator key, with a wrong one, or with a pod's
// owner key, whether or not what it names exists; the key passes as a
// Bearer token and as X-Api-Key.
func TestAdminAuth(t *testing.T) {
	s, _ := adminServer(t, pod.Options{})
	for _, path := range []string{"/admin/pods", "/admin/pods/alice", "/admin/pods/nosuchpod", "/admin/pods/alice/disable", "/admin/nothing"} {
		for _, c := range []struct{ hdr, key string }{{"", ""}, {"Authorization", "op_wrong_key_0123456789"}, {"x-api-key", "op_wrong"}, {"x-api-key", evKeys.alice}, {"Authorization", evKeys.alice}} {
			for _, m := range []string{"GET", "POST", "DELETE"} {
				r := adminDo(t, s, m, path, c.hdr, c.key, "")
				if r.status != http.StatusUnauthorized || !strings.Contains(r.json(t)["error"].(string), "operator key") {
					t.Errorf("%s %s with %s %q: %d %s, want 401", m, path, c.hdr, c.key, r.status, r.body)
				}
			}
		}
	}
	for _, hdr := range []string{"Authorization", "x-api-key"} {
		if r := adminDo(t, s, "GET", "/admin/pods", hdr, testOperatorKey, ""); r.status != http.StatusOK {
			t.Errorf("GET /admin/pods with the key in %s: %d %s", hdr, r.status, r.body)
		}
	}
	// The operator key is no pod key.
	if r := evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "inbox/", key: testOperatorKey}); r.status != http.StatusUnauthorized {
		t.Errorf("the operator key on a pod: %d, want 401", r.status)
	}
	if s.FirstOperatorKey() != "" {
		t.Error("FirstOperatorKey with Options.OperatorKey set is not empty")
	}
}

// TestAdminOperatorKeyLifecycle: a server started without a key makes one
// when it starts serving,
// handed out once and stored only as its hash; it survives a restart, and
// Options.OperatorKey replaces it.
func TestAdminOperatorKeyLifecycle(t *testing.T) {
	dir := t.TempDir()
	// Opened without serving (as the command line's offline commands
	// do): no key is made, which nobody would show.
	offline, err := pod.New(pod.Options{DataDir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if k := offline.FirstOperatorKey(); k != "" {
		t.Errorf("FirstOperatorKey before Start = %q", k)
	}
	if err := offline.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, stop := podtest.RunStoppable(t, pod.Options{DataDir: dir})
	key := s.FirstOperatorKey()
	if !strings.HasPrefix(key, "op_") || len(key) < 40 {
		t.Fatalf("FirstOperatorKey = %q", key)
	}
	if again := s.FirstOperatorKey(); again != "" {
		t.Errorf("second FirstOperatorKey = %q, want empty", again)
	}
	c := &adminapi.Client{BaseURL: s.BaseURL(), Key: key}
	if _, err := c.ListPods(context.Background()); err != nil {
		t.Fatalf("list with the generated key: %v", err)
	}
	// Stored: its hash, never the key.
	want := sha256.Sum256([]byte(key))
	found := false
	scanAll(t, s.Store(), func(k, v []byte) {
		if bytes.Contains(k, []byte(key)) || bytes.Contains(v, []byte(key)) {
			t.Errorf("the operator key is stored in clear under %q", k)
		}
		if bytes.Equal(v, want[:]) {
			found = true
		}
	})
	if !found {
		t.Error("no key holds the operator key's hash")
	}
	stop()

	s, stop = podtest.RunStoppable(t, pod.Options{DataDir: dir})
	if k := s.FirstOperatorKey(); k != "" {
		t.Errorf("FirstOperatorKey after a restart = %q, want empty", k)
	}
	c.BaseURL = s.BaseURL()
	if _, err := c.ListPods(context.Background()); err != nil {
		t.Errorf("the key after a restart: %v", err)
	}
	stop()

	s, _ = podtest.RunStoppable(t, pod.Options{DataDir: dir, OperatorKey: testOperatorKey})
	c.BaseURL = s.BaseURL()
	var ae *adminapi.Error
	if _, err := c.ListPods(context.Background()); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("the replaced key: %v, want 401", err)
	}
	c.Key = testOperatorKey
	if _, err := c.ListPods(context.Background()); err != nil {
		t.Errorf("the key set by Options.OperatorKey: %v", err)
	}
	if _, err := pod.New(pod.Options{InMemory: true, Addr: "127.0.0.1:0", OperatorKey: "short"}); !errors.Is(err, pod.ErrWeakOperatorKey) {
		t.Errorf("New with a short operator key: %v", err)
	}
}

// scanAll calls fn for every key of st.
func scanAll(t *testing.T, st store.Store, fn func(k, v []byte)) {
	t.Helper()
	err := st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan(nil, nil, false, func(k, v []byte) error { fn(k, v); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdminPodLifecycle drives every operation over HTTP: create (the owner
// key works at once), list, refused names, disable (every request to the
// pod refused, data kept), enable, delete (404 at once), and the name
// used again.
func TestAdminPodLifecycle(t *testing.T) {
	s, c := adminServer(t, pod.Options{})
	ctx := context.Background()
	p, err := c.CreatePod(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "carol" || p.State != adminapi.StateActive || p.Root != s.PodRoot("carol") || p.WebID != s.WebID("carol") || p.OwnerKey == "" || p.Created.IsZero() {
		t.Fatalf("created: %+v", p)
	}
	owner := p.OwnerKey
	doc := s.PodRoot("carol") + "notes/a.txt"
	if r := evDo(t, evReq{method: "PUT", url: doc, key: owner, ctype: "text/plain", body: "hello"}); r.status != http.StatusCreated {
		t.Fatalf("PUT with the new owner key: %d %s", r.status, r.body)
	}
	pods, err := c.ListPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range pods {
		names = append(names, q.Name+":"+q.State)
		if q.OwnerKey != "" {
			t.Errorf("the list shows %s's owner key", q.Name)
		}
	}
	if got := strings.Join(names, " "); got != "alice:active bob:active carol:active crm:active producer:active" {
		t.Errorf("pods: %s", got)
	}
	for name, want := range map[string]int{"carol": 409, "admin": 400, "Bad_Name": 400, "-x": 400} {
		var ae *adminapi.Error
		if _, err := c.CreatePod(ctx, name); !errors.As(err, &ae) || ae.Status != want {
			t.Errorf("create %q: %v, want %d", name, err, want)
		}
	}
	if r := adminDo(t, s, "POST", "/admin/pods", "Authorization", testOperatorKey, `{"nom": "x"}`); r.status != http.StatusBadRequest {
		t.Errorf("create without a name: %d %s", r.status, r.body)
	}

	// Disabled: every request to the pod refused, with a clear error.
	if p, err = c.DisablePod(ctx, "carol", true); err != nil || p.State != adminapi.StateDisabled {
		t.Fatalf("disable: %+v %v", p, err)
	}
	refused := []evReq{
		{method: "GET", url: doc, key: owner},
		{method: "PUT", url: doc, key: owner, ctype: "text/plain", body: "changed"},
		{method: "GET", url: s.PodRoot("carol") + "profile/card"},
		{method: "POST", url: s.PodRoot("carol") + "publish/", key: owner, body: `{"recipient":"` + s.WebID("carol") + `","topic":"a/b","data":{}}`},
		{method: "GET", url: s.PodRoot("carol") + "inbox/", key: owner},
	}
	for _, q := range refused {
		if r := evDo(t, q); r.status != http.StatusForbidden || r.json(t)["error"] != `pod "carol" is disabled by the server's operator` {
			t.Errorf("%s %s on a disabled pod: %d %s, want 403", q.method, q.url, r.status, r.body)
		}
	}
	// carol's key acts for nobody elsewhere either: posting to alice's
	// inbox (open to authenticated agents) is refused.
	if r := evDo(t, evReq{method: "POST", url: s.PodRoot("alice") + "inbox/", key: owner, ctype: "application/ld+json", body: `{"name": "from a disabled pod"}`}); r.status != http.StatusForbidden || !strings.Contains(r.body, `pod \"carol\"`) {
		t.Errorf("a disabled pod's key posting to another pod's inbox: %d %s, want 403", r.status, r.body)
	}
	if p, err = c.GetPod(ctx, "carol"); err != nil || p.State != adminapi.StateDisabled {
		t.Errorf("get a disabled pod: %+v %v", p, err)
	}
	if p, err = c.DisablePod(ctx, "carol", false); err != nil || p.State != adminapi.StateActive {
		t.Fatalf("enable: %+v %v", p, err)
	}
	if r := evDo(t, evReq{method: "GET", url: doc, key: owner}); r.status != http.StatusOK || r.body != "hello" {
		t.Errorf("GET after enable: %d %q", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "POST", url: s.PodRoot("alice") + "inbox/", key: owner, ctype: "application/ld+json", body: `{"name": "enabled again"}`}); r.status != http.StatusCreated {
		t.Errorf("posting to alice's inbox after enable: %d %s", r.status, r.body)
	}

	// Deleted: gone at once, name free again, nothing of the old pod left.
	if p, err = c.DeletePod(ctx, "carol"); err != nil || p.State != adminapi.StateDeleted {
		t.Fatalf("delete: %+v %v", p, err)
	}
	if r := evDo(t, evReq{method: "GET", url: doc, key: owner}); r.status != http.StatusUnauthorized && r.status != http.StatusNotFound {
		t.Errorf("GET after delete: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: s.PodRoot("carol") + "profile/card"}); r.status != http.StatusNotFound {
		t.Errorf("anonymous GET of the profile after delete: %d, want 404", r.status)
	}
	for _, op := range []func() error{
		func() error { _, err := c.GetPod(ctx, "carol"); return err },
		func() error { _, err := c.DisablePod(ctx, "carol", true); return err },
		func() error { _, err := c.DeletePod(ctx, "carol"); return err },
	} {
		if err := op(); !errors.Is(err, adminapi.ErrNotFound) {
			t.Errorf("an operation on the deleted pod: %v, want 404", err)
		}
	}
	p, err = c.CreatePod(ctx, "carol")
	if err != nil {
		t.Fatalf("create again: %v", err)
	}
	if r := evDo(t, evReq{method: "GET", url: doc, key: p.OwnerKey}); r.status != http.StatusNotFound {
		t.Errorf("the old pod's document in the new one: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: s.PodRoot("carol") + "inbox/", key: owner}); r.status != http.StatusUnauthorized {
		t.Errorf("the old owner key on the new pod: %d, want 401", r.status)
	}
}

// TestAdminDeleteRemovesEverything fills a pod with every kind of data
// (documents, keys, settings, events with client ids, a held delivery,
// copies in its own inbox and from another pod, a webhook channel with a
// pending push), deletes it, and scans the whole store: no key names the
// pod, and the only values naming it are the other pod's records of what
// it sent there.
func TestAdminDeleteRemovesEverything(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer hook.Close()
	s, c := adminServer(t, pod.Options{AllowPrivateTargets: true})
	ctx := context.Background()
	p, err := c.CreatePod(ctx, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	owner, root, webID := p.OwnerKey, p.Root, p.WebID
	must := func(q evReq, want ...int) evResp {
		t.Helper()
		r := evDo(t, q)
		for _, w := range want {
			if r.status == w {
				return r
			}
		}
		t.Fatalf("%s %s: %d %s", q.method, q.url, r.status, r.body)
		return r
	}
	must(evReq{method: "PUT", url: root + "docs/a.txt", key: owner, ctype: "text/plain", body: "a"}, 201)
	must(evReq{method: "PUT", url: root + "docs/sub/b.txt", key: owner, ctype: "text/plain", body: "b"}, 201)
	must(evReq{method: "POST", url: root + "settings/keys/", key: owner, body: `{"app": "reader"}`}, 201)
	settings := `{"@context": "` + rdf.ContextURI + `", "version": "1", "items": [
		{"type": "Subscription", "agent": "` + webID + `", "publishes": ["realestate/contact"]},
		{"type": "Subscription", "agent": "` + s.WebID("producer") + `", "publishes": ["realestate/contact"]}]}`
	must(evReq{method: "PUT", url: root + "settings/subscriptions", key: owner, ctype: "application/ld+json", body: settings}, 200, 201, 204)
	ev := func(extra string) string {
		return `{"recipient":"` + webID + `","topic":"realestate/contact#add","data":{"type":"AddAction"}` + extra + `}`
	}
	must(evReq{method: "POST", url: root + "publish/", key: owner, body: ev(`,"id":"0190a6b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b"`)}, 201)
	must(evReq{method: "POST", url: root + "publish/", key: owner, body: ev(`,"delay":3600`)}, 201, 202)
	producerEvent := must(evReq{method: "POST", url: s.PodRoot("producer") + "publish/", key: evKeys.producer, body: ev("")}, 201).hdr.Get("Location")
	ntSubscribe(t, s, "doomed", "WebhookChannel2023", owner, map[string]any{"topic": root + "docs/", "sendTo": hook.URL})
	must(evReq{method: "PUT", url: root + "docs/c.txt", key: owner, ctype: "text/plain", body: "c"}, 201)

	name := []byte("doomed")
	mentions := func() (keys, values []string) {
		scanAll(t, s.Store(), func(k, v []byte) {
			if bytes.Contains(k, name) {
				keys = append(keys, string(k))
			} else if bytes.Contains(v, name) {
				values = append(values, string(k))
			}
		})
		return keys, values
	}
	before, beforeValues := mentions()
	for _, prefix := range []string{store.PrefixDelivery, store.PrefixChannel + "c"} {
		if !hasPrefixed(beforeValues, prefix) {
			t.Errorf("before the delete, no value under %q names the pod: the test does not exercise it", prefix)
		}
	}
	for _, prefix := range []string{store.PrefixResource, store.PrefixMember, store.PrefixPod, store.PrefixPodKey, store.PrefixEventID,
		store.PrefixOutbox, store.PrefixDeliveryIndex + "E", store.PrefixPodSecret, store.PrefixEventCopies} {
		if !hasPrefixed(before, prefix) {
			t.Errorf("before the delete, no key under %q names the pod: the test does not exercise it", prefix)
		}
	}

	if p, err := c.DeletePod(ctx, "doomed"); err != nil || p.State != adminapi.StateDeleted {
		t.Fatalf("delete: %+v %v", p, err)
	}
	keys, values := mentions()
	if len(keys) > 0 {
		t.Errorf("keys naming the deleted pod: %q", keys)
	}
	// The producer's event keeps its body, which names its recipient: a
	// shared body, since the pod's copy referenced it too.
	var producerBody []byte
	if err := s.Store().View(ctx, func(rd store.Reader) error {
		r, err := ldp.Get(rd, "/producer/publish/"+producerEvent[strings.LastIndexByte(producerEvent, '/')+1:])
		if err == nil {
			producerBody = r.Body
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range values {
		if strings.HasPrefix(k, store.PrefixBody) {
			var v []byte
			scanAll(t, s.Store(), func(key, val []byte) {
				if string(key) == k {
					v = bytes.Clone(val)
				}
			})
			if bytes.Equal(v, producerBody) {
				continue
			}
		}
		// The producer's event names its recipient, and its outbox keeps
		// its record of the delivery to the pod (and the copies entry of
		// that event).
		if strings.HasPrefix(k, store.PrefixResource+"/producer/publish/") || strings.HasPrefix(k, store.PrefixOutbox+"producer\x00") ||
			strings.HasPrefix(k, store.PrefixEventCopies+s.PodRoot("producer")) {
			continue
		}
		t.Errorf("a value naming the deleted pod under %q", k)
	}
	// Another pod is untouched.
	must(evReq{method: "GET", url: s.PodRoot("alice") + "profile/card"}, 200)
}

func hasPrefixed(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// TestAdminPurgeResumes: a pod left marked deleting by a server that
// stopped (simulated: marked in the store, no purge run) has its data
// removed at the next start.
func TestAdminPurgeResumes(t *testing.T) {
	dir := t.TempDir()
	s, stop := podtest.RunStoppable(t, pod.Options{DataDir: dir, OperatorKey: testOperatorKey})
	c := &adminapi.Client{BaseURL: s.BaseURL(), Key: testOperatorKey}
	ctx := context.Background()
	p, err := c.CreatePod(ctx, "halfgone")
	if err != nil {
		t.Fatal(err)
	}
	if r := evDo(t, evReq{method: "PUT", url: p.Root + "x.txt", key: p.OwnerKey, ctype: "text/plain", body: "x"}); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d", r.status)
	}
	if err := s.Store().Update(ctx, func(tx store.Txn) error {
		_, err := ldp.SetPodState(tx, "halfgone", ldp.PodDeleting)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r := evDo(t, evReq{method: "GET", url: p.Root + "x.txt", key: p.OwnerKey}); r.status != http.StatusNotFound {
		t.Errorf("GET of a pod marked deleting: %d, want 404", r.status)
	}
	stop()
	s, _ = podtest.RunStoppable(t, pod.Options{DataDir: dir, OperatorKey: testOperatorKey})
	c.BaseURL = s.BaseURL()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.GetPod(ctx, "halfgone")
		if errors.Is(err, adminapi.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the purge did not resume: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	scanAll(t, s.Store(), func(k, _ []byte) {
		if bytes.Contains(k, []byte("halfgone")) {
			t.Errorf("left after the resumed purge: %q", k)
		}
	})
}

// TestAdminRegistration: open registration is off by default (403);
// on, anyone creates a pod and gets its owner key, names are checked
// (400, 409), and a client gets 429 with Retry-After past its burst.
func TestAdminRegistration(t *testing.T) {
	closed, _ := adminServer(t, pod.Options{InMemory: true})
	if r := adminDo(t, closed, "GET", "/admin/register", "", "", ""); r.status != 200 || r.json(t)["open"] != false {
		t.Errorf("GET /admin/register, closed: %d %s", r.status, r.body)
	}
	if r := adminDo(t, closed, "POST", "/admin/register", "", "", `{"name":"newbie"}`); r.status != http.StatusForbidden {
		t.Errorf("register, closed: %d %s, want 403", r.status, r.body)
	}

	s, _ := adminServer(t, pod.Options{InMemory: true, OpenRegistration: true})
	reg := &adminapi.Client{BaseURL: s.BaseURL()}
	ctx := context.Background()
	if r := adminDo(t, s, "GET", "/admin/register", "", "", ""); r.status != 200 || r.json(t)["open"] != true {
		t.Errorf("GET /admin/register, open: %d %s", r.status, r.body)
	}
	p, err := reg.Register(ctx, "newbie")
	if err != nil {
		t.Fatal(err)
	}
	if r := evDo(t, evReq{method: "PUT", url: p.Root + "hello.txt", key: p.OwnerKey, ctype: "text/plain", body: "hi"}); r.status != http.StatusCreated {
		t.Errorf("PUT with the registered owner key: %d %s", r.status, r.body)
	}
	// Refused names take no token: there are many of them here.
	for name, want := range map[string]int{"admin": 400, "console": 400, "UPPER": 400, "": 400} {
		for range 3 {
			var ae *adminapi.Error
			if _, err := reg.Register(ctx, name); !errors.As(err, &ae) || ae.Status != want {
				t.Errorf("register %q: %v, want %d", name, err, want)
			}
		}
	}
	var ae *adminapi.Error
	if _, err := reg.Register(ctx, "newbie"); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Errorf("register a taken name: %v, want 409", err)
	}
	if _, err := reg.Register(ctx, "second"); err != nil {
		t.Errorf("the third registration of the burst: %v", err)
	}
	r := adminDo(t, s, "POST", "/admin/register", "", "", `{"name":"third"}`)
	if r.status != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" || !strings.Contains(r.json(t)["error"].(string), "too many registrations") {
		t.Errorf("past the burst: %d %q %s, want 429 with Retry-After", r.status, r.hdr.Get("Retry-After"), r.body)
	}
	if _, err := reg.Register(ctx, "third"); !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter < time.Minute {
		t.Errorf("the client's error past the burst: %+v", err)
	}
	// Registration does not open the rest of the API.
	if _, err := reg.ListPods(ctx); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("list without the key on an open server: %v", err)
	}
}

// TestClusterAdmin: on two nodes sharing PostgreSQL, one operator key (made
// by one node), and a pod disabled, enabled or deleted through node A is
// treated so by node B on the next request, B's pod cache warm before.
func TestClusterAdmin(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	key := a.FirstOperatorKey()
	if key == "" || b.FirstOperatorKey() != "" {
		t.Fatalf("the first node makes the operator key, the second none: %q %q", key, b.FirstOperatorKey())
	}
	ca := &adminapi.Client{BaseURL: "http://" + a.Addr(), Key: key}
	cb := &adminapi.Client{BaseURL: "http://" + b.Addr(), Key: key}
	ctx := context.Background()
	p, err := ca.CreatePod(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	doc := p.Root + "d.txt"
	if r := evDo(t, evReq{method: "PUT", url: at(a, doc), key: p.OwnerKey, ctype: "text/plain", body: "d"}); r.status != http.StatusCreated {
		t.Fatalf("PUT on A: %d %s", r.status, r.body)
	}
	get := func() int {
		return evDo(t, evReq{method: "GET", url: at(b, doc), key: p.OwnerKey}).status
	}
	for range 2 {
		if st := get(); st != http.StatusOK {
			t.Fatalf("GET on B: %d", st)
		}
	}
	if _, err := ca.DisablePod(ctx, "shared", true); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != http.StatusForbidden {
		t.Errorf("GET on B right after A disabled the pod: %d, want 403", st)
	}
	if _, err := ca.DisablePod(ctx, "shared", false); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != http.StatusOK {
		t.Errorf("GET on B right after A enabled the pod: %d, want 200", st)
	}
	if _, err := ca.DeletePod(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != http.StatusNotFound && st != http.StatusUnauthorized {
		t.Errorf("GET on B right after A deleted the pod: %d, want 404 (or 401: its key is gone)", st)
	}
	if r := evDo(t, evReq{method: "GET", url: at(b, p.Root+"profile/card")}); r.status != http.StatusNotFound {
		t.Errorf("anonymous GET on B of the deleted pod's profile: %d, want 404", r.status)
	}
	if _, err := cb.GetPod(ctx, "shared"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Errorf("GET /admin/pods/shared on B: %v, want 404", err)
	}
	// The name is free on B too.
	if _, err := cb.CreatePod(ctx, "shared"); err != nil {
		t.Errorf("create the name again on B: %v", err)
	}
}

// TestAdminDeliveryToDeletedPod: a held delivery from another pod to a pod
// deleted meanwhile fails with "the target pod does not exist", listed in
// the sender's outbox, and creates nothing under the deleted name.
func TestAdminDeliveryToDeletedPod(t *testing.T) {
	// A schedule an hour long: the delivery fails at its first attempt
	// (deliver.Permanent), not after retries.
	s, c := adminServer(t, pod.Options{InMemory: true, RetrySchedule: []time.Duration{time.Hour}})
	ctx := context.Background()
	p, err := c.CreatePod(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	settings := `{"@context": "` + rdf.ContextURI + `", "version": "1", "items": [
		{"type": "Subscription", "agent": "` + s.WebID("producer") + `", "publishes": ["realestate/contact"]}]}`
	if r := evDo(t, evReq{method: "PUT", url: p.Root + "settings/subscriptions", key: p.OwnerKey, ctype: "application/ld+json", body: settings}); r.status >= 300 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	ev := `{"recipient":"` + p.WebID + `","topic":"realestate/contact#add","data":{},"delay":1}`
	if r := publishTo(t, s, "producer", evKeys.producerOwner, ev); r.status >= 300 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if _, err := c.DeletePod(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	outbox := s.PodRoot("producer") + "outbox/?status=failed"
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := evDo(t, evReq{method: "GET", url: outbox, key: evKeys.producerOwner})
		if strings.Contains(r.body, "the target pod does not exist") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery in the producer's outbox: %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	scanAll(t, s.Store(), func(k, _ []byte) {
		if bytes.Contains(k, []byte("/gone/")) {
			t.Errorf("a key under the deleted pod after the delivery: %q", k)
		}
	})
}
