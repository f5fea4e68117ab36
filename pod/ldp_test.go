package pod_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// Demo keys (fixtures/demo.json).
const (
	aliceKey      = "pk_demo_alice_owner_0123456789"
	bobKey        = "pk_demo_bob_owner_0123456789"
	producerApp   = "pk_demo_producer_publisher_0123456789"
	producerOwner = "pk_demo_producer_owner_0123456789"
)

// call is one HTTP request of a test.
type call struct {
	method, path, key, body, ctype string
	hdr                            map[string]string
}

type reply struct {
	status int
	hdr    http.Header
	body   string
}

// do sends c to the server at base and returns the reply.
func do(t testing.TB, base string, c call) reply {
	t.Helper()
	u := c.path
	if !strings.HasPrefix(u, "http") {
		u = base + c.path
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("x-api-key", c.key)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	for k, v := range c.hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

func hasLink(h http.Header, target, rel string) bool {
	want := "<" + target + ">; rel=\"" + rel + "\""
	for _, v := range h.Values("Link") {
		for _, l := range strings.Split(v, ",") {
			if strings.TrimSpace(l) == want {
				return true
			}
		}
	}
	return false
}

func TestResourceHeaders(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	r := do(t, base, call{method: "PUT", path: "/alice/notes/a", key: aliceKey, ctype: "application/ld+json", body: `{"@id": "#it", "name": "x"}`})
	if r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := r.hdr.Get("Location"); got != base+"/alice/notes/a" {
		t.Errorf("Location = %q", got)
	}
	etag := r.hdr.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on create")
	}
	g := do(t, base, call{method: "GET", path: "/alice/notes/a", key: aliceKey, hdr: map[string]string{"Origin": "https://app.example"}})
	if g.status != 200 {
		t.Fatalf("GET: %d", g.status)
	}
	checks := []struct{ name, got, want string }{
		{"ETag", g.hdr.Get("ETag"), etag},
		{"Content-Type", g.hdr.Get("Content-Type"), "application/ld+json"},
		{"Allow", g.hdr.Get("Allow"), "OPTIONS, HEAD, GET, PUT, PATCH, DELETE"},
		{"WAC-Allow", g.hdr.Get("WAC-Allow"), `user="read write append control",public=""`},
		{"Access-Control-Allow-Origin", g.hdr.Get("Access-Control-Allow-Origin"), "https://app.example"},
		// Stored without a context: it goes out naming the one this
		// server serves, under which podserver read it.
		{"body", g.body, `{"@context":"` + base + `/ns/v1","@id": "#it", "name": "x"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, h := range []string{"Accept-Put", "Accept-Patch", "Last-Modified"} {
		if g.hdr.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if !strings.Contains(strings.Join(g.hdr.Values("Vary"), ","), "Origin") || !strings.Contains(strings.Join(g.hdr.Values("Vary"), ","), "Accept") {
		t.Errorf("Vary = %q", g.hdr.Values("Vary"))
	}
	for _, h := range []string{"WAC-Allow", "Link", "ETag", "Location", "Accept-Post", "Allow"} {
		if !strings.Contains(g.hdr.Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("Access-Control-Expose-Headers lacks %s", h)
		}
	}
	if !hasLink(g.hdr, "http://www.w3.org/ns/ldp#Resource", "type") {
		t.Error("no ldp:Resource type link")
	}
	if !hasLink(g.hdr, base+"/alice/notes/a.acl", "acl") {
		t.Errorf("no acl link: %q", g.hdr.Values("Link"))
	}
	if hasLink(g.hdr, "http://www.w3.org/ns/ldp#BasicContainer", "type") {
		t.Error("a resource must not be typed as a container")
	}

	// Conditional requests.
	cases := []struct {
		name string
		c    call
		want int
	}{
		{"GET If-None-Match same", call{method: "GET", path: "/alice/notes/a", key: aliceKey, hdr: map[string]string{"If-None-Match": etag}}, 304},
		{"GET If-None-Match other", call{method: "GET", path: "/alice/notes/a", key: aliceKey, hdr: map[string]string{"If-None-Match": `"zzz"`}}, 200},
		{"GET If-Match other", call{method: "GET", path: "/alice/notes/a", key: aliceKey, hdr: map[string]string{"If-Match": `"zzz"`}}, 412},
		{"PUT If-Match stale", call{method: "PUT", path: "/alice/notes/a", key: aliceKey, ctype: "text/plain", body: "x", hdr: map[string]string{"If-Match": `"zzz"`}}, 412},
		{"PUT If-None-Match * on existing", call{method: "PUT", path: "/alice/notes/a", key: aliceKey, ctype: "text/plain", body: "x", hdr: map[string]string{"If-None-Match": "*"}}, 412},
		{"PUT If-Match on missing", call{method: "PUT", path: "/alice/notes/missing", key: aliceKey, ctype: "text/plain", body: "x", hdr: map[string]string{"If-Match": "*"}}, 412},
		{"PUT If-Match current", call{method: "PUT", path: "/alice/notes/a", key: aliceKey, ctype: "text/plain", body: "new", hdr: map[string]string{"If-Match": etag}}, 204},
		{"DELETE If-Match stale", call{method: "DELETE", path: "/alice/notes/a", key: aliceKey, hdr: map[string]string{"If-Match": etag}}, 412},
	}
	for _, c := range cases {
		if got := do(t, base, c.c); got.status != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, got.status, c.want, got.body)
		}
	}
	if got := do(t, base, call{method: "GET", path: "/alice/notes/missing", key: aliceKey}); got.status != 404 {
		t.Errorf("failed conditional PUT stored something: %d", got.status)
	}
	// Non-RDF bytes come back as stored, with their media type.
	if got := do(t, base, call{method: "GET", path: "/alice/notes/a", key: aliceKey}); got.body != "new" || got.hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("non-RDF round trip: %q %q", got.body, got.hdr.Get("Content-Type"))
	}
}

func TestContainers(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	a := call{key: aliceKey}
	with := func(c call) call { c.key = a.key; return c }

	// PUT creates intermediate containers.
	if r := do(t, base, with(call{method: "PUT", path: "/alice/x/y/z.txt", ctype: "text/plain", body: "z"})); r.status != 201 {
		t.Fatalf("PUT deep: %d %s", r.status, r.body)
	}
	r := do(t, base, with(call{method: "GET", path: "/alice/x/"}))
	if r.status != 200 || !strings.Contains(r.body, `"`+base+`/alice/x/y/"`) {
		t.Fatalf("intermediate container not listed: %d %s", r.status, r.body)
	}
	for _, typ := range []string{"Container", "BasicContainer", "Resource"} {
		if !hasLink(r.hdr, "http://www.w3.org/ns/ldp#"+typ, "type") {
			t.Errorf("container lacks ldp:%s link", typ)
		}
	}
	if r.hdr.Get("Accept-Post") == "" {
		t.Error("container lacks Accept-Post")
	}
	root := do(t, base, with(call{method: "GET", path: "/alice/"}))
	if !hasLink(root.hdr, "http://www.w3.org/ns/pim/space#Storage", "type") {
		t.Error("pod root lacks pim:Storage type")
	}

	// POST with Slug, and a container by Link.
	p := do(t, base, with(call{method: "POST", path: "/alice/x/", ctype: "text/plain", body: "hi", hdr: map[string]string{"Slug": "hello"}}))
	if p.status != 201 || p.hdr.Get("Location") != base+"/alice/x/hello" {
		t.Fatalf("POST slug: %d %q", p.status, p.hdr.Get("Location"))
	}
	p2 := do(t, base, with(call{method: "POST", path: "/alice/x/", ctype: "text/plain", body: "hi", hdr: map[string]string{"Slug": "hello"}}))
	if p2.status != 201 || p2.hdr.Get("Location") == p.hdr.Get("Location") {
		t.Fatalf("POST with a taken slug must pick another name: %d %q", p2.status, p2.hdr.Get("Location"))
	}
	pc := do(t, base, with(call{method: "POST", path: "/alice/x/", hdr: map[string]string{"Slug": "sub", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`}}))
	if pc.status != 201 || pc.hdr.Get("Location") != base+"/alice/x/sub/" {
		t.Fatalf("POST container: %d %q %s", pc.status, pc.hdr.Get("Location"), pc.body)
	}

	cases := []struct {
		name string
		c    call
		want int
		msg  string
	}{
		{"POST to missing container", call{method: "POST", path: "/alice/nope/", ctype: "text/plain", body: "x"}, 404, ""},
		{"POST to a resource", call{method: "POST", path: "/alice/x/hello", ctype: "text/plain", body: "x"}, 405, ""},
		{"body without Content-Type", call{method: "PUT", path: "/alice/x/noct", body: "x"}, 400, "Content-Type"},
		{"resource where a container is", call{method: "PUT", path: "/alice/x/y", ctype: "text/plain", body: "x"}, 409, "cannot share a name"},
		{"container where a resource is", call{method: "PUT", path: "/alice/x/hello/", ctype: "text/plain"}, 409, "cannot share a name"},
		{"container below a resource", call{method: "PUT", path: "/alice/x/hello/deeper", ctype: "text/plain", body: "x"}, 409, "cannot be a container"},
		{"DELETE non-empty container", call{method: "DELETE", path: "/alice/x/"}, 409, "not empty"},
		{"DELETE pod root", call{method: "DELETE", path: "/alice/"}, 405, ""},
		{"DELETE root ACL", call{method: "DELETE", path: "/alice/.acl"}, 405, ""},
		{"PATCH unsupported yet or bad", call{method: "PROPFIND", path: "/alice/x/"}, 405, ""},
		{"malformed JSON-LD", call{method: "PUT", path: "/alice/x/bad.jsonld", ctype: "application/ld+json", body: `{"a": `}, 400, "invalid application/ld+json"},
		{"remote context that cannot be loaded", call{method: "PUT", path: "/alice/x/ctx.jsonld", ctype: "application/ld+json", body: `{"@context": "https://evil.example/ctx", "a": 1}`}, 400, "cannot load remote context https://evil.example/ctx: "},
		{"DELETE missing", call{method: "DELETE", path: "/alice/x/missing"}, 404, ""},
		{"DELETE resource", call{method: "DELETE", path: "/alice/x/hello"}, 204, ""},
		{"GET deleted", call{method: "GET", path: "/alice/x/hello"}, 404, ""},
		{"DELETE empty container", call{method: "DELETE", path: "/alice/x/sub/"}, 204, ""},
	}
	for _, c := range cases {
		got := do(t, base, with(c.c))
		if got.status != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, got.status, c.want, got.body)
			continue
		}
		if got.status >= 400 {
			if !strings.HasPrefix(got.hdr.Get("Content-Type"), "application/json") || !strings.Contains(got.body, `"error"`) {
				t.Errorf("%s: error body is not JSON {\"error\": ...}: %q", c.name, got.body)
			}
			if c.msg != "" && !strings.Contains(got.body, c.msg) {
				t.Errorf("%s: body %q lacks %q", c.name, got.body, c.msg)
			}
		}
		if c.want == 405 && got.hdr.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", c.name)
		}
	}
	for _, p := range []string{"/alice/x/bad.jsonld", "/alice/x/ctx.jsonld", "/alice/x/noct"} {
		if got := do(t, base, with(call{method: "GET", path: p})); got.status != 404 {
			t.Errorf("refused write stored %s: %d", p, got.status)
		}
	}
}

func TestContainerPaging(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	for i := 0; i < 7; i++ {
		if r := do(t, base, call{method: "POST", path: "/alice/settings/", key: aliceKey, ctype: "text/plain", body: "x", hdr: map[string]string{"Slug": "item" + string(rune('a'+i))}}); r.status != 201 {
			t.Fatal(r.status, r.body)
		}
	}
	// settings/ holds "subscriptions" first, then itema..itemg.
	var seen []string
	next := "/alice/settings/?limit=3"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := do(t, base, call{method: "GET", path: next, key: aliceKey})
		if r.status != 200 {
			t.Fatal(r.status, r.body)
		}
		for _, part := range strings.Split(r.body, `"`) {
			if strings.HasPrefix(part, base+"/alice/settings/") && part != base+"/alice/settings/" && !strings.Contains(part, "?") {
				seen = append(seen, strings.TrimPrefix(part, base+"/alice/settings/"))
			}
		}
		next = ""
		for _, l := range r.hdr.Values("Link") {
			if strings.HasSuffix(l, `rel="next"`) {
				next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
				// Delete the first item of the next page before reading it:
				// the cursor must stay valid.
				if len(seen) == 3 {
					do(t, base, call{method: "DELETE", path: "/alice/settings/itemc", key: aliceKey})
				}
			}
		}
	}
	want := "subscriptions itema itemb itemd iteme itemf itemg"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("pages listed %q, want %q", got, want)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/settings/?limit=0", key: aliceKey}); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/settings/?from=abc", key: aliceKey}); r.status != 400 {
		t.Errorf("from=abc: %d", r.status)
	}
}

func TestBadInput(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{MaxBodyBytes: 1024})
	base := s.BaseURL()
	big := strings.Repeat("x", 2048)
	cases := []struct {
		name string
		c    call
		want int
	}{
		{"oversized body", call{method: "PUT", path: "/alice/big", key: aliceKey, ctype: "text/plain", body: big}, 413},
		{"dot-dot", call{method: "GET", path: "/alice/a/../b", key: aliceKey}, 400},
		{"encoded slash", call{method: "GET", path: "/alice/a%2Fb", key: aliceKey}, 400},
		{"encoded dot-dot", call{method: "GET", path: "/alice/%2e%2e/bob/", key: aliceKey}, 400},
		{"double slash", call{method: "GET", path: "/alice//x", key: aliceKey}, 400},
		{"invalid pod name", call{method: "GET", path: "/Alice_/x", key: aliceKey}, 404},
		{"missing pod", call{method: "GET", path: "/nobody/", key: aliceKey}, 404},
		{"pod without slash", call{method: "GET", path: "/alice", key: aliceKey}, 404},
		{"wrong key", call{method: "GET", path: "/alice/", key: "pk_wrong_wrong_wrong_wrong"}, 401},
		{"huge header", call{method: "GET", path: "/alice/", key: aliceKey, hdr: map[string]string{"X-Big": strings.Repeat("a", 100<<10)}}, 431},
	}
	for _, c := range cases {
		if got := do(t, base, c.c); got.status != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, got.status, c.want, got.body)
		}
	}
	if got := do(t, base, call{method: "GET", path: "/alice/big", key: aliceKey}); got.status != 404 {
		t.Errorf("oversized body was stored: %d", got.status)
	}
	// The server still works.
	if got := do(t, base, call{method: "GET", path: "/alice/profile/card"}); got.status != 200 {
		t.Errorf("profile after bad input: %d", got.status)
	}
}

func TestOptionsAndPreflight(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	r := do(t, base, call{method: "OPTIONS", path: "/alice/private/thing"})
	if r.status != 204 || r.hdr.Get("Allow") == "" {
		t.Errorf("OPTIONS: %d Allow=%q", r.status, r.hdr.Get("Allow"))
	}
	p := do(t, base, call{method: "OPTIONS", path: "/alice/x", hdr: map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-api-key, content-type"}})
	if p.status != 204 || p.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		p.hdr.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(p.hdr.Get("Access-Control-Allow-Methods"), "PUT") || p.hdr.Get("Access-Control-Allow-Headers") != "x-api-key, content-type" {
		t.Errorf("preflight: %d %v", p.status, p.hdr)
	}
}

// TestCORSEveryRoute: every kind of route a browser app reads answers a
// request with an Origin with that origin, credentials allowed (rdflib
// sends every request with credentials "include"), and Vary naming Origin
// beside whatever else the response varies on.
func TestCORSEveryRoute(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	const origin = "https://app.example"
	for _, tc := range []struct {
		name, path, key, accept string
	}{
		{"resource", "/alice/", aliceKey, ""},
		{"inbox JSON-LD", "/alice/inbox/", aliceKey, ""},
		{"inbox Turtle", "/alice/inbox/", aliceKey, "text/turtle"},
		{"storage description", "/alice/.well-known/solid", "", ""},
		{"context document", "/ns/v1", "", ""},
		{"OIDC discovery", "/.well-known/openid-configuration", "", ""},
		{"refused", "/alice/notes/", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Origin": origin}
			if tc.accept != "" {
				hdr["Accept"] = tc.accept
			}
			r := do(t, base, call{method: "GET", path: tc.path, key: tc.key, hdr: hdr})
			if r.status >= 500 {
				t.Fatalf("GET %s: %d %s", tc.path, r.status, r.body)
			}
			if got := r.hdr.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
			}
			if got := r.hdr.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
			}
			if vary := strings.Join(r.hdr.Values("Vary"), ", "); !strings.Contains(vary, "Origin") {
				t.Errorf("Vary = %q, want it to name Origin", vary)
			}
		})
	}
}

func TestProfileAndHealth(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	r := do(t, base, call{method: "GET", path: "/alice/profile/card"})
	if r.status != 200 || r.hdr.Get("WAC-Allow") != `user="read",public="read"` {
		t.Fatalf("public profile: %d %q", r.status, r.hdr.Get("WAC-Allow"))
	}
	for _, want := range []string{`"inbox": "../inbox/"`, `"#me"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("profile lacks %s: %s", want, r.body)
		}
	}
	if r := do(t, base, call{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	m := do(t, base, call{method: "GET", path: "/metrics"})
	for _, want := range []string{"podserver_http_requests_total", "podserver_http_request_duration_seconds", "podserver_store_commit_batch_transactions"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := do(t, base, call{method: "GET", path: "/ns/v1"}); r.status != 200 || !strings.Contains(r.body, "@context") {
		t.Errorf("context document: %d", r.status)
	}
}

func TestSubdomainNaming(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{Addr: "localhost:0", PodNaming: pod.NamingSubdomain})
	base := s.BaseURL()
	host := strings.TrimPrefix(base, "http://")
	r := do(t, base, call{method: "GET", path: "/profile/card", hdr: map[string]string{"Host": "alice." + host}})
	if r.status != 200 {
		t.Fatalf("subdomain profile: %d %s", r.status, r.body)
	}
	if !hasLink(r.hdr, "http://alice."+host+"/profile/card.acl", "acl") {
		t.Errorf("acl link in subdomain mode: %q", r.hdr.Values("Link"))
	}
	if got := s.WebID("alice"); got != "http://alice."+host+"/profile/card#me" {
		t.Errorf("WebID = %q", got)
	}
	if r := do(t, base, call{method: "GET", path: "/", key: aliceKey, hdr: map[string]string{"Host": "alice." + host}}); r.status != 200 {
		t.Errorf("subdomain root: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Errorf("healthz on the base host: %d", r.status)
	}
}
