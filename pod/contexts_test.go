package pod_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

// TestJSONLDBuiltInContexts: JSON-LD naming the widely used contexts built
// into the binary (schema.org, the Solid notifications context, VC) is
// accepted by PUT, POST and an inbox POST, without a fetch, and reads back
// as Turtle with their IRIs; remote loading off changes nothing for them.
func TestJSONLDBuiltInContexts(t *testing.T) {
	for _, opts := range []pod.Options{{}, {NoRemoteContexts: true}} {
		s := podtest.RunServer(t, opts)
		base := s.BaseURL()
		docs := []struct{ context, body, want string }{
			{"https://schema.org/", `"@type": "Person", "name": "Alice"`, "<http://schema.org/Person>"},
			{"https://www.w3.org/ns/solid/notifications-context/v1", `"type": "notify:WebhookChannel2023", "sendTo": "https://hook.example/"`,
				"<http://www.w3.org/ns/solid/notifications#sendTo>"},
			{"https://www.w3.org/2018/credentials/v1", `"type": "VerifiableCredential", "issuer": "https://issuer.example/"`,
				"<https://www.w3.org/2018/credentials#issuer>"},
			{"https://www.w3.org/ns/credentials/v2", `"type": "VerifiableCredential", "issuer": "https://issuer.example/"`,
				"<https://www.w3.org/2018/credentials#issuer>"},
		}
		for i, d := range docs {
			body := `{"@context": "` + d.context + `", "@id": "#it", ` + d.body + `}`
			path := "/alice/ctx/put" + strconv.Itoa(i)
			if r := do(t, base, call{method: "PUT", path: path, key: aliceKey, ctype: "application/ld+json", body: body}); r.status != http.StatusCreated {
				t.Fatalf("PUT with %s: %d %s", d.context, r.status, r.body)
			}
			r := do(t, base, call{method: "GET", path: path, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
			if r.status != http.StatusOK || !strings.Contains(r.body, d.want) {
				t.Errorf("GET as Turtle of a document with %s: %d, want %s in\n%s", d.context, r.status, d.want, r.body)
			}
			if r := do(t, base, call{method: "POST", path: "/alice/ctx/", key: aliceKey, ctype: "application/ld+json", body: body}); r.status != http.StatusCreated {
				t.Errorf("POST with %s: %d %s", d.context, r.status, r.body)
			}
			if r := do(t, base, call{method: "POST", path: "/alice/inbox/", key: bobKey, ctype: "application/ld+json", body: body}); r.status != http.StatusCreated {
				t.Errorf("inbox POST with %s: %d %s", d.context, r.status, r.body)
			}
		}
	}
}

// contextHost serves JSON-LD contexts on loopback and counts requests.
type contextHost struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newContextHost(t *testing.T) *contextHost {
	h := &contextHost{hits: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[r.URL.Path]++
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/ld+json")
		switch p := r.URL.Path; {
		case p == "/app/v1":
			fmt.Fprint(w, `{"@context": {"@vocab": "https://app.example/ns#", "friend": {"@type": "@id"}}}`)
		case strings.HasPrefix(p, "/slow/"):
			<-r.Context().Done() // until the server gives up
		case p == "/big":
			// Announced as too large: refused before it is read.
			w.Header().Set("Content-Length", strconv.Itoa(2<<20))
			w.WriteHeader(http.StatusOK)
		case strings.HasPrefix(p, "/chain/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/chain/"))
			if n >= 9 {
				fmt.Fprint(w, `{"@context": {"@vocab": "https://app.example/ns#"}}`)
				return
			}
			fmt.Fprintf(w, `{"@context": ["/chain/%d", {"c%d": "https://app.example/ns#c"}]}`, n+1, n)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *contextHost) count(p string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[p]
}

// TestJSONLDRemoteContexts: a remote context is fetched (loopback allowed
// with AllowPrivateTargets) once and cached; one that cannot be loaded
// (404, too large, a chain past the limit, a loopback address without
// AllowPrivateTargets, remote loading off) gets 400 with a JSON error
// naming the URL and the reason, on PUT and on an inbox POST.
func TestJSONLDRemoteContexts(t *testing.T) {
	host := newContextHost(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	base := s.BaseURL()
	doc := func(ctx string) string {
		return `{"@context": "` + ctx + `", "@id": "#me", "name": "Alice", "friend": "https://bob.example/#me"}`
	}
	app := host.URL + "/app/v1"
	for i := range 3 {
		path := "/alice/remote/doc" + strconv.Itoa(i)
		if r := do(t, base, call{method: "PUT", path: path, key: aliceKey, ctype: "application/ld+json", body: doc(app)}); r.status != http.StatusCreated {
			t.Fatalf("PUT with a remote context: %d %s", r.status, r.body)
		}
		r := do(t, base, call{method: "GET", path: path, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
		want := "<https://app.example/ns#friend> <https://bob.example/#me>"
		if got, err := rdf.Parse("text/turtle", []byte(r.body), base+path); err != nil || !strings.Contains(r.body, "https://app.example/ns#friend") || len(got) != 2 {
			t.Fatalf("GET as Turtle: %d %v, want %s in\n%s", r.status, err, want, r.body)
		}
		if r := do(t, base, call{method: "POST", path: "/alice/inbox/", key: bobKey, ctype: "application/ld+json", body: doc(app)}); r.status != http.StatusCreated {
			t.Fatalf("inbox POST with a remote context: %d %s", r.status, r.body)
		}
	}
	if n := host.count("/app/v1"); n != 1 {
		t.Fatalf("the context was fetched %d times, want once (cached)", n)
	}

	private := podtest.RunServer(t, pod.Options{})
	off := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, NoRemoteContexts: true})
	tests := []struct {
		name   string
		server string
		ctx    string
		reason string
	}{
		{"not found", base, host.URL + "/missing", "cannot load remote context " + host.URL + "/missing: GET " + host.URL + "/missing: status 404"},
		{"too large", base, host.URL + "/big", "cannot load remote context " + host.URL + "/big: netguard: response body too large"},
		{"chain too deep", base, host.URL + "/chain/4", "cannot load remote context " + host.URL + "/chain/4: remote contexts include remote contexts more than 4 deep"},
		{"loopback without AllowPrivateTargets", private.BaseURL(), app, "cannot load remote context " + app + ": netguard: GET: "},
		{"remote loading off", off.BaseURL(), app, "unknown remote context " + app + ": this server loads no remote contexts; only these contexts can be used: https://w3id.org/podserver/v1"},
	}
	for _, tc := range tests {
		for _, c := range []call{
			{method: "PUT", path: "/alice/remote/bad", key: aliceKey},
			{method: "POST", path: "/alice/inbox/", key: bobKey},
		} {
			c.ctype, c.body = "application/ld+json", doc(tc.ctx)
			r := do(t, tc.server, c)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s, %s: %d %s, want 400", tc.name, c.method, r.status, r.body)
				continue
			}
			if msg := errorOf(t, r.body); !strings.Contains(msg, tc.reason) {
				t.Errorf("%s, %s: error %q, want %q in it", tc.name, c.method, msg, tc.reason)
			}
		}
	}
	if n := host.count("/app/v1"); n != 1 {
		t.Errorf("the context was fetched %d times by the servers that may not, want once in all", n)
	}
}

// TestJSONLDRemoteContextSlow: a context that does not answer gets 400 when
// the fetch times out (5s); while the fetches from one host are at their
// limit, a write naming another context there waits for a slot and
// succeeds (the 503 with Retry-After is for a wait past the Fetcher's
// MaxWait).
func TestJSONLDRemoteContextSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5s context timeout")
	}
	host := newContextHost(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	base := s.BaseURL()
	put := func(i int, ctx string) reply {
		return do(t, base, call{method: "PUT", path: "/alice/slow/doc" + strconv.Itoa(i), key: aliceKey, ctype: "application/ld+json",
			body: `{"@context": "` + ctx + `", "@id": "#me", "name": "Alice"}`})
	}
	var wg sync.WaitGroup
	slow := make([]reply, 2)
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slow[i] = put(i, host.URL+"/slow/"+strconv.Itoa(i))
		}()
	}
	for host.count("/slow/0")+host.count("/slow/1") < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	// A fetch past the host's limit waits in the Fetcher's bounded line
	// (netguard.Limits.MaxWait) for a slot: the write succeeds once the
	// slow fetches give up, instead of failing at once.
	if busy := put(2, host.URL+"/app/v1"); busy.status != http.StatusCreated {
		t.Errorf("a write while the host's fetches are at their limit: %d %s, want 201 after waiting for a slot", busy.status, busy.body)
	}
	wg.Wait()
	for i, r := range slow {
		want := "cannot load remote context " + host.URL + "/slow/" + strconv.Itoa(i) + ": no answer within 5s"
		if r.status != http.StatusBadRequest || !strings.Contains(errorOf(t, r.body), want) {
			t.Errorf("a context that does not answer: %d %s, want 400 saying %q", r.status, r.body, want)
		}
	}
	if r := put(3, host.URL+"/app/v1"); r.status != http.StatusCreated {
		t.Errorf("once the host's fetches are done: %d %s, want 201", r.status, r.body)
	}
}
