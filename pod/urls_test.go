package pod_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

// TestResourceURLs: every URL the server hands out for a stored name is
// percent-encoded per segment and dereferences to that resource: Location,
// Link rel="acl", the Turtle and JSON-LD listings (streamed and paged), a
// notification's object, and the ACL document the evaluator consults (the
// one Link rel="acl" names, written with the advertised URLs).
func TestResourceURLs(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	root := s.PodRoot("alice")
	dir := root + "enc/"
	names := []struct{ name, escaped string }{
		{"a#b.txt", "a%23b.txt"},
		{"q?x.txt", "q%3Fx.txt"},
		{"100%done.txt", "100%25done.txt"},
		{"draft%41.txt", "draft%2541.txt"},
		{"with space.txt", "with%20space.txt"},
		{"été.txt", "%C3%A9t%C3%A9.txt"},
		{"a,b;c.txt", "a%2Cb%3Bc.txt"},
		{"x(1)+y=z@w:v.txt", "x(1)+y=z@w:v.txt"},
		{"dir #1/", "dir%20%231/"},
	}
	if r := do(t, base, call{method: "PUT", path: dir, key: aliceKey}); r.status != http.StatusCreated {
		t.Fatalf("PUT %s: %d %s", dir, r.status, r.body)
	}
	ch := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", aliceKey, map[string]any{"topic": dir})
	st := ntOpenStream(t, ch.ReceiveFrom)

	var want []string
	for _, n := range names {
		u := dir + n.escaped
		c := call{method: "PUT", path: u, key: aliceKey, ctype: "text/plain", body: "body of " + n.name}
		container := n.name[len(n.name)-1] == '/'
		if container {
			c.ctype, c.body = "", ""
		}
		r := do(t, base, c)
		if r.status != http.StatusCreated || r.hdr.Get("Location") != u {
			t.Fatalf("PUT %s: %d Location %q, want 201 %q (%s)", u, r.status, r.hdr.Get("Location"), u, r.body)
		}
		if !hasLink(r.hdr, u+".acl", "acl") {
			t.Errorf("PUT %s: Link %q, want <%s.acl>; rel=\"acl\"", u, r.hdr.Values("Link"), u)
		}
		want = append(want, u)
		ntExpect(t, st.nextMsg(t), "Add", u, dir)

		g := do(t, base, call{method: "GET", path: r.hdr.Get("Location"), key: aliceKey})
		if g.status != http.StatusOK || (!container && g.body != "body of "+n.name) || !hasLink(g.hdr, u+".acl", "acl") {
			t.Errorf("GET %s: %d %q Link %q", u, g.status, g.body, g.hdr.Values("Link"))
		}
		// The ACL at the advertised URL, naming the resource by the
		// advertised URL relative to it, is the one that decides.
		if a := do(t, base, call{method: "GET", path: u}); a.status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s before its ACL: %d, want 401", u, a.status)
		}
		acl := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <./` + n.escaped + `>; acl:mode acl:Read.`
		if container {
			acl = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <./>; acl:mode acl:Read.`
		}
		if a := do(t, base, call{method: "PUT", path: u + ".acl", key: aliceKey, ctype: "text/turtle", body: acl}); a.status != http.StatusCreated {
			t.Fatalf("PUT %s.acl: %d %s", u, a.status, a.body)
		}
		if a := do(t, base, call{method: "GET", path: u}); a.status != http.StatusOK {
			t.Errorf("anonymous GET %s under its own ACL: %d %s, want 200", u, a.status, a.body)
		}
	}

	for _, q := range []string{"", "?limit=100"} {
		tr := do(t, base, call{method: "GET", path: dir + q, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
		quads, err := rdf.Parse("text/turtle", []byte(tr.body), dir)
		if tr.status != http.StatusOK || err != nil {
			t.Fatalf("GET %s%s as Turtle: %d %v\n%s", dir, q, tr.status, err, tr.body)
		}
		var got []string
		for _, qd := range quads {
			if qd.S.Value == dir && qd.P.Value == "http://www.w3.org/ns/ldp#contains" {
				got = append(got, qd.O.Value)
			}
		}
		if slices.Sort(got); !slices.Equal(got, sorted(want)) {
			t.Errorf("Turtle listing%s contains %q, want %q\n%s", q, got, sorted(want), tr.body)
		}
		js := do(t, base, call{method: "GET", path: dir + q, key: aliceKey, hdr: map[string]string{"Accept": "application/ld+json"}})
		var doc struct {
			Contains []string `json:"contains"`
		}
		if err := json.Unmarshal([]byte(js.body), &doc); err != nil {
			t.Fatalf("GET %s%s as JSON-LD: %d %v", dir, q, js.status, err)
		}
		if slices.Sort(doc.Contains); !slices.Equal(doc.Contains, sorted(want)) {
			t.Errorf("JSON-LD listing%s contains %q, want %q", q, doc.Contains, sorted(want))
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestACLOfPercentName: a resource whose name holds "%" is governed by its
// own ACL document (the one its Link rel="acl" names), not by the ACL of
// the name decoded a second time nor by its container's. In a public
// folder, draft%41.txt with an owner-only ACL was readable anonymously.
func TestACLOfPercentName(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	pub := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
`
	priv := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <NAME>; acl:mode acl:Read, acl:Write, acl:Control.
`
	for _, c := range []call{
		{method: "PUT", path: "/alice/public/.acl", key: aliceKey, ctype: "text/turtle", body: pub},
		{method: "PUT", path: "/alice/public/draft.txt", key: aliceKey, ctype: "text/plain", body: "secret draft"},
		{method: "PUT", path: "/alice/public/draft.txt.acl", key: aliceKey, ctype: "text/turtle", body: strings.ReplaceAll(priv, "NAME", "draft.txt")},
		{method: "PUT", path: "/alice/public/draft%2541.txt", key: aliceKey, ctype: "text/plain", body: "secret draft 2"},
		{method: "PUT", path: "/alice/public/draft%2541.txt.acl", key: aliceKey, ctype: "text/turtle", body: strings.ReplaceAll(priv, "NAME", "draft%2541.txt")},
	} {
		if r := do(t, base, c); r.status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	for _, p := range []string{"/alice/public/draft.txt", "/alice/public/draft%2541.txt"} {
		if r := do(t, base, call{method: "GET", path: p}); r.status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d %q, want 401", p, r.status, r.body)
		}
		r := do(t, base, call{method: "GET", path: p, key: aliceKey})
		if r.status != http.StatusOK || !hasLink(r.hdr, base+p+".acl", "acl") {
			t.Errorf("owner GET %s: %d Link %q", p, r.status, r.hdr.Values("Link"))
		}
		if w := r.hdr.Get("WAC-Allow"); w != `user="read write append control",public=""` {
			t.Errorf("GET %s: WAC-Allow %q, want no public access", p, w)
		}
	}
}
