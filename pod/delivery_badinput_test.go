package pod_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
)

// hookSettings returns alice's settings/subscriptions: producer may
// publish realestate/contact, and crm subscribes with each webhook target.
func hookSettings(s *pod.Server, targets ...string) string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	items := []string{`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["realestate/contact"]}`}
	for _, t := range targets {
		items = append(items, `{"type":"Subscription","agent":"`+s.WebID("crm")+`","subscribes":["realestate/contact"],"target":"`+t+`","secret":"`+secret+`"}`)
	}
	return `{"version":"1","items":[` + strings.Join(items, ",") + `]}`
}

// goneHooks starts a webhook receiver that answers 410 Gone at path and
// 204 everywhere else; it stops when the test ends.
func goneHooks(t testing.TB, path string) *httptest.Server {
	t.Helper()
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			http.Error(w, "no such hook", http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hooks.Close)
	return hooks
}

// subscribeHooks writes alice's settings/subscriptions with hookSettings,
// failing the test if the write fails.
func subscribeHooks(t testing.TB, s *pod.Server, targets ...string) {
	t.Helper()
	if r := putSettings(t, s, hookSettings(s, targets...)); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
}

// publishWait publishes a realestate/contact#add event for alice from the
// producer with ?wait=wait and requires a 201.
func publishWait(t testing.TB, s *pod.Server, wait int) evResp {
	t.Helper()
	r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=" + strconv.Itoa(wait), key: evKeys.producer,
		body: `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{}}`})
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	return r
}

// publishOwnWait lets alice publish to herself (an item appended to her
// settings, which subscribeHooks wrote), then publishes a
// realestate/contact#add event from alice's pod to alice with ?wait=wait
// and requires a 201. Her settings route it to her webhooks, so the ?wait
// answer reports them: a producer's answer reports only the recipient and
// source it addressed.
func publishOwnWait(t testing.TB, s *pod.Server, wait int) evResp {
	t.Helper()
	get := evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice})
	self := `{"type":"Subscription","agent":"` + s.WebID("alice") + `","publishes":["realestate/contact"]}`
	body, ok := strings.CutSuffix(strings.TrimSpace(get.body), "]}")
	if get.status != http.StatusOK || !ok {
		t.Fatalf("GET settings: %d %s", get.status, get.body)
	}
	if r := putSettings(t, s, body+","+self+"]}"); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	r := evDo(t, evReq{method: "POST", url: s.PodRoot("alice") + "publish/?wait=" + strconv.Itoa(wait), key: evKeys.alice,
		body: `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{}}`})
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	return r
}

func putSettings(t testing.TB, s *pod.Server, body string) evResp {
	t.Helper()
	return evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: body, ctype: ldp.MediaJSONLD})
}

// A webhook target that never answers holds only its own lane (its site:
// here its IP address, so the healthy target listens on another one):
// events to a healthy target all arrive while requests to the dead one
// are still hanging.
func TestDeliveryDeadTargetDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	var hanging atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer dead.Close()
	defer close(release)
	var mu sync.Mutex
	got := map[string]bool{}
	healthy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ce struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&ce)
		mu.Lock()
		got[ce.ID] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	healthy.Listener = ln
	healthy.Start()
	defer healthy.Close()

	// Attempts are not cut short during the test; at most 4 at once per
	// host.
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, DeliveryTimeout: time.Minute, DeliveryPerHost: 4})
	subscribeHooks(t, s, dead.URL+"/cb", healthy.URL+"/cb")
	// Many more events than the dead host's lane runs at once.
	const n = 100
	var ids []string
	for i := range n {
		r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{"n":`+string(rune('0'+i%10))+`}}`)
		if r.status != http.StatusCreated {
			t.Fatalf("publish %d: %d %s", i, r.status, r.body)
		}
		ids = append(ids, r.hdr.Get("Location"))
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healthy webhook got %d of %d events while the dead one hangs", k, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := hanging.Load(); h == 0 || h > 4 {
		t.Errorf("%d requests hang at the dead webhook; want 1 to 4 (the per-host bound)", h)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if !got[id] {
			t.Errorf("healthy webhook did not get %s", id)
		}
	}
}

// Bad targets each end in a clear status, recorded in the outbox of the
// pod whose settings name them (alice's: a delivery belongs to the pod
// whose settings caused it), and do not hold up the healthy target published to with them: a
// huge answer is read only in part (its status recorded), a target that
// never answers times out and is retried, a refused connection is retried,
// and a webhook target that is not http(s) is refused when the
// subscription is written (so it never reaches the queue).
func TestDeliveryBadTargets(t *testing.T) {
	huge := strings.Repeat("x", 8<<20)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/huge-error":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, huge)
		case "/huge-ok":
			_, _ = io.WriteString(w, huge)
		case "/silent":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	defer close(release)
	closed := httptest.NewServer(http.NotFoundHandler())
	refusedURL := closed.URL + "/refused"
	closed.Close()

	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, DeliveryTimeout: time.Second})
	cases := []struct {
		name, target, status, errHas string
		lastStatus                   int
	}{
		{"huge error body", srv.URL + "/huge-error", "pending", "500 Internal Server Error: xxx", 500},
		{"huge ok body", srv.URL + "/huge-ok", "delivered", "", 200},
		{"never answers", srv.URL + "/silent", "pending", "no answer within 1s", 0},
		{"refused", refusedURL, "pending", "connection refused", 0},
		{"healthy", srv.URL + "/ok", "delivered", "", 204},
	}
	var targets []string
	for _, c := range cases {
		targets = append(targets, c.target)
	}
	subscribeHooks(t, s, targets...)
	r := publishOwnWait(t, s, 10)
	var res struct {
		Deliveries []struct{ Target, Status, Error string }
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	byTarget := map[string]struct{ Status, Error string }{}
	for _, d := range res.Deliveries {
		byTarget[d.Target] = struct{ Status, Error string }{d.Status, d.Error}
	}
	// alice's outbox: every record, with its last status and error.
	o := evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "outbox/", key: evKeys.alice})
	var page struct {
		Items []struct {
			Target, Status, LastError string
			LastStatus                int
		}
	}
	if err := json.Unmarshal([]byte(o.body), &page); err != nil || o.status != http.StatusOK {
		t.Fatalf("outbox: %d %s", o.status, o.body)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := byTarget[c.target]
			if !ok || d.Status != c.status || !strings.Contains(d.Error, c.errHas) {
				t.Errorf("?wait delivery %+v, want status %s and an error with %q", d, c.status, c.errHas)
			}
			if len(d.Error) > 1024 {
				t.Errorf("error of %d bytes: the answer was not cut", len(d.Error))
			}
			found := false
			for _, it := range page.Items {
				if it.Target != c.target {
					continue
				}
				found = true
				if it.Status != c.status || !strings.Contains(it.LastError, c.errHas) || it.LastStatus != c.lastStatus {
					t.Errorf("outbox record %+v, want status %s, lastStatus %d and an error with %q", it, c.status, c.lastStatus, c.errHas)
				}
			}
			if !found {
				t.Errorf("no outbox record for %s: %s", c.target, o.body)
			}
		})
	}

	// A webhook target that is not http(s) is refused when written.
	for _, target := range []string{"ftp://hooks.example/cb", "file:///etc/passwd", "hooks.example/cb"} {
		r := putSettings(t, s, hookSettings(s, target))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "items[1].target must be an absolute http(s) URL") {
			t.Errorf("settings with target %q: %d %s", target, r.status, r.body)
		}
	}
}
