package pod_test

import (
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

const turtleDoc = `@prefix schema: <https://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#it> a schema:Event ;
    schema:name "Open house"@en, "Portes ouvertes"@fr ;
    schema:startDate "2026-12-01T10:00:00Z"^^xsd:dateTime ;
    schema:maximumAttendeeCapacity 40 ;
    schema:location [ schema:name "12 Main St" ; schema:isAccessibleForFree true ] ;
    schema:about ( <#a> <#b> ) .
`

// TestContentNegotiation writes in one RDF format and reads back in every
// other as the same graph; a resource written in Turtle and copied through
// JSON-LD reads back as the same Turtle graph.
func TestContentNegotiation(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	url := base + "/alice/events/open-house"
	if r := do(t, base, call{method: "PUT", path: "/alice/events/open-house", key: aliceKey, ctype: "text/turtle", body: turtleDoc}); r.status != 201 {
		t.Fatalf("PUT turtle: %d %s", r.status, r.body)
	}
	want, err := rdf.Parse("text/turtle", []byte(turtleDoc), url)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{"text/turtle", "application/ld+json", "application/n-triples", "application/n-quads"} {
		r := do(t, base, call{method: "GET", path: "/alice/events/open-house", key: aliceKey, hdr: map[string]string{"Accept": mt}})
		if r.status != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), mt) {
			t.Fatalf("GET as %s: %d %q", mt, r.status, r.hdr.Get("Content-Type"))
		}
		got, err := rdf.Parse(mt, []byte(r.body), url)
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", mt, err, r.body)
		}
		if !rdf.Isomorphic(got, want) {
			t.Errorf("%s is not the same graph:\n%s", mt, r.body)
		}
		if mt == "application/ld+json" {
			// Copy through JSON-LD, then read the copy as Turtle.
			if c := do(t, base, call{method: "PUT", path: "/alice/events/copy", key: aliceKey, ctype: mt, body: r.body}); c.status != 201 {
				t.Fatalf("PUT JSON-LD copy: %d %s", c.status, c.body)
			}
		}
	}
	back := do(t, base, call{method: "GET", path: "/alice/events/copy", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
	got, err := rdf.Parse("text/turtle", []byte(back.body), base+"/alice/events/copy")
	if err != nil {
		t.Fatal(err)
	}
	// The copy lives at another URL, so compare after re-basing.
	if !rdf.Isomorphic(rebase(got, base+"/alice/events/copy", url), want) {
		t.Errorf("Turtle -> JSON-LD -> Turtle changed the graph:\n%s", back.body)
	}

	cases := []struct {
		name, accept string
		want         int
		vary         bool
	}{
		{"q-values", "text/turtle;q=0.4, application/n-triples;q=0.8", 200, true},
		{"nothing acceptable", "text/html", 406, false},
		{"turtle refused", "text/turtle;q=0", 406, false},
	}
	for _, c := range cases {
		r := do(t, base, call{method: "GET", path: "/alice/events/open-house", key: aliceKey, hdr: map[string]string{"Accept": c.accept}})
		if r.status != c.want {
			t.Errorf("%s: %d, want %d", c.name, r.status, c.want)
		}
		if c.vary && !strings.Contains(strings.Join(r.hdr.Values("Vary"), ","), "Accept") {
			t.Errorf("%s: no Vary: Accept", c.name)
		}
	}
	// Each representation has its own ETag.
	a := do(t, base, call{method: "GET", path: "/alice/events/open-house", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
	b := do(t, base, call{method: "GET", path: "/alice/events/open-house", key: aliceKey, hdr: map[string]string{"Accept": "application/ld+json"}})
	if a.hdr.Get("ETag") == b.hdr.Get("ETag") {
		t.Error("Turtle and JSON-LD representations share an ETag")
	}

	// Bad Turtle is a 400 naming line and column, and nothing is stored.
	r := do(t, base, call{method: "PUT", path: "/alice/events/bad", key: aliceKey, ctype: "text/turtle", body: "<#a> <#b> <#c> .\n<#a> <#b> \"open ."})
	if r.status != 400 || !strings.Contains(r.body, "line 2") {
		t.Errorf("bad Turtle: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/events/bad", key: aliceKey}); r.status != 404 {
		t.Errorf("bad Turtle stored: %d", r.status)
	}
	// Containers and ACLs negotiate too; ACLs default to Turtle.
	if r := do(t, base, call{method: "GET", path: "/alice/events/", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}}); r.status != 200 || !strings.Contains(r.body, "ldp:contains") && !strings.Contains(r.body, "http://www.w3.org/ns/ldp#contains") {
		t.Errorf("container as Turtle: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/.acl", key: aliceKey}); r.status != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/turtle") {
		t.Errorf("ACL default representation: %d %q", r.status, r.hdr.Get("Content-Type"))
	}
}

// rebase rewrites IRIs starting with from to start with to.
func rebase(q []rdf.Quad, from, to string) []rdf.Quad {
	fix := func(t rdf.Term) rdf.Term {
		if t.Kind == rdf.KindIRI && strings.HasPrefix(t.Value, from) {
			t.Value = to + strings.TrimPrefix(t.Value, from)
		}
		return t
	}
	out := make([]rdf.Quad, len(q))
	for i, x := range q {
		out[i] = rdf.Quad{S: fix(x.S), P: fix(x.P), O: fix(x.O), G: x.G}
	}
	return out
}

// TestTurtleACL writes an ACL in Turtle and shows it takes effect.
func TestTurtleACL(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	do(t, base, call{method: "PUT", path: "/alice/shared/doc", key: aliceKey, ctype: "text/plain", body: "for bob"})
	aclTTL := `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#owner> a acl:Authorization ; acl:agent <../profile/card#me> ; acl:accessTo <./> ; acl:default <./> ; acl:mode acl:Read, acl:Write, acl:Control .
<#bob> a acl:Authorization ; acl:agent <` + s.WebID("bob") + `> ; acl:default <./> ; acl:mode acl:Read .
`
	if r := do(t, base, call{method: "PUT", path: "/alice/shared/.acl", key: aliceKey, ctype: "text/turtle", body: aclTTL}); r.status != 201 {
		t.Fatalf("PUT Turtle ACL: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/shared/doc", key: bobKey}); r.status != 200 || r.body != "for bob" {
		t.Errorf("bob reads after Turtle ACL: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/shared/doc", key: bobKey, ctype: "text/plain", body: "x"}); r.status != 403 {
		t.Errorf("bob writes: %d", r.status)
	}
}

// TestFixtureRoundTrips: every provisioned RDF document of a pod goes
// Turtle -> store -> JSON-LD -> store -> Turtle and stays the same graph.
func TestFixtureRoundTrips(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	for _, p := range []string{"profile/card", ".acl", "profile/card.acl", "inbox/.acl", "settings/subscriptions"} {
		src := base + "/alice/" + p
		orig := do(t, base, call{method: "GET", path: "/alice/" + p, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
		want, err := rdf.Parse("text/turtle", []byte(orig.body), src)
		if err != nil || len(want) == 0 {
			t.Fatalf("%s as Turtle: %v (%d triples)\n%s", p, err, len(want), orig.body)
		}
		// Store the Turtle at a neutral place, read it back as JSON-LD,
		// store that, and read it as Turtle again.
		dst := "/alice/copies/" + strings.NewReplacer("/", "-", ".", "_").Replace(p)
		if r := do(t, base, call{method: "PUT", path: dst, key: aliceKey, ctype: "text/turtle", body: orig.body}); r.status != 201 {
			t.Fatalf("%s: PUT Turtle copy: %d %s", p, r.status, r.body)
		}
		js := do(t, base, call{method: "GET", path: dst, key: aliceKey, hdr: map[string]string{"Accept": "application/ld+json"}})
		if r := do(t, base, call{method: "PUT", path: dst + "-2", key: aliceKey, ctype: "application/ld+json", body: js.body}); r.status != 201 {
			t.Fatalf("%s: PUT JSON-LD copy: %d %s", p, r.status, r.body)
		}
		back := do(t, base, call{method: "GET", path: dst + "-2", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
		got, err := rdf.Parse("text/turtle", []byte(back.body), base+dst+"-2")
		if err != nil {
			t.Fatal(err)
		}
		if !rdf.Isomorphic(rebase(rebase(got, base+dst+"-2", src), base+dst, src), want) {
			t.Errorf("%s changed on the round trip:\n%s\n---\n%s", p, orig.body, back.body)
		}
	}
}

// TestETagsAcrossRepresentations: a write's If-Match accepts the ETag of
// any representation of the current version; a read's If-None-Match only
// its own representation's.
func TestETagsAcrossRepresentations(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	do(t, base, call{method: "PUT", path: "/alice/e/doc", key: aliceKey, ctype: "text/turtle", body: `<#a> <#b> "c" .`})
	nt := do(t, base, call{method: "GET", path: "/alice/e/doc", key: aliceKey, hdr: map[string]string{"Accept": "application/n-triples"}})
	ttl := do(t, base, call{method: "GET", path: "/alice/e/doc", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
	if r := do(t, base, call{method: "GET", path: "/alice/e/doc", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle", "If-None-Match": nt.hdr.Get("ETag")}}); r.status != 200 {
		t.Errorf("Turtle GET with the N-Triples ETag: %d, want 200", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/e/doc", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle", "If-None-Match": ttl.hdr.Get("ETag")}}); r.status != 304 {
		t.Errorf("Turtle GET with its own ETag: %d, want 304", r.status)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/e/doc", key: aliceKey, ctype: "text/turtle", body: `<#a> <#b> "d" .`, hdr: map[string]string{"If-Match": nt.hdr.Get("ETag")}}); r.status != 204 {
		t.Errorf("PUT If-Match with the N-Triples ETag: %d, want 204", r.status)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/e/doc", key: aliceKey, ctype: "text/turtle", body: `<#a> <#b> "e" .`, hdr: map[string]string{"If-Match": nt.hdr.Get("ETag")}}); r.status != 412 {
		t.Errorf("PUT If-Match with a stale ETag: %d, want 412", r.status)
	}
}
