package pod_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"podserver/conformance"
	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

// containerGraph is the listing of container self with members as a
// Solid client must read it.
func containerGraph(self string, members []string) []rdf.Quad {
	s := rdf.IRI(self)
	q := []rdf.Quad{
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "Container")},
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "BasicContainer")},
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "Resource")},
	}
	for _, m := range members {
		q = append(q, rdf.Quad{S: s, P: rdf.IRI(ldpNS + "contains"), O: rdf.IRI(m)})
	}
	return q
}

// parallel runs fn(i) for i in [0, n) on 8 goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// readTurtle GETs url as Turtle with key and returns the graph N3.js reads.
func readTurtle(t *testing.T, url, key string) ([]rdf.Quad, reply) {
	t.Helper()
	r := do(t, "", call{method: "GET", path: url, key: key, hdr: map[string]string{"Accept": "text/turtle"}})
	if r.status != http.StatusOK || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/turtle") {
		t.Fatalf("GET %s as Turtle: %d %s %.300s", url, r.status, r.hdr.Get("Content-Type"), r.body)
	}
	q, err := conformance.Parse(t, "text/turtle", strings.SplitN(url, "?", 2)[0], []byte(r.body), "")
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return q, r
}

// Issue 14, "Containers list every member": a container with 2,000
// children and an inbox with 250 items, read as Turtle without paging
// parameters, list every member, as N3.js reads them. Paging stays for
// those who ask, and the inbox's app-facing JSON listing keeps its paged
// default.
func TestConformanceContainerListsEveryMember(t *testing.T) {
	conformance.Need(t)
	s := podtest.RunServer(t, pod.Options{})
	root := s.PodRoot("alice")

	members := make([]string, 2000)
	parallel(len(members), func(i int) {
		c := call{method: "PUT", path: fmt.Sprintf("/alice/many/doc%04d", i), key: aliceKey, ctype: "text/plain", body: "x"}
		if i%100 == 0 {
			c = call{method: "PUT", path: c.path + "/", key: aliceKey}
		}
		p := c.path
		if r := do(t, s.BaseURL(), c); r.status != http.StatusCreated {
			t.Errorf("PUT %s: %d %s", p, r.status, r.body)
		}
		members[i] = root + strings.TrimPrefix(p, "/alice/")
	})
	items := make([]string, 250)
	parallel(len(items), func(i int) {
		r := do(t, s.BaseURL(), call{method: "POST", path: "/alice/inbox/", key: bobKey, ctype: "application/ld+json", body: `{"type":"Announce","summary":"hello"}`})
		if r.status != http.StatusCreated {
			t.Errorf("POST to the inbox: %d %s", r.status, r.body)
		}
		items[i] = r.hdr.Get("Location")
	})
	if t.Failed() {
		t.FailNow()
	}

	got, r := readTurtle(t, root+"many/", aliceKey)
	if !rdf.Isomorphic(got, containerGraph(root+"many/", members)) {
		t.Errorf("many/ as Turtle: %d statements, want %d", len(got), len(members)+3)
	}
	if strings.Contains(strings.Join(r.hdr.Values("Link"), ","), `rel="next"`) {
		t.Errorf("a full listing links a next page: %q", r.hdr.Values("Link"))
	}
	page, r := readTurtle(t, root+"many/?limit=100", aliceKey)
	if n := len(page) - 3; n != 100 || !strings.Contains(strings.Join(r.hdr.Values("Link"), ","), `rel="next"`) {
		t.Errorf("?limit=100: %d members, Link %q", n, r.hdr.Values("Link"))
	}

	got, _ = readTurtle(t, root+"inbox/", aliceKey)
	if !rdf.Isomorphic(got, containerGraph(root+"inbox/", items)) {
		t.Errorf("inbox/ as Turtle: %d statements, want %d", len(got), len(items)+3)
	}
	pg, ir := readInbox(t, s, "alice", aliceKey, "")
	if ir.status != http.StatusOK || len(pg.Contains) != 50 || nextLink(ir.hdr) == "" {
		t.Errorf("the inbox's app-facing listing: %d, %d items, Link next %q; want its page of 50", ir.status, len(pg.Contains), nextLink(ir.hdr))
	}
}

// Issue 14, "Creating a resource needs Append or Write on its container":
// bob, given Write on everything below shared/ but nothing on shared/
// itself, may replace what exists there but create nothing, by PUT or
// PATCH, nor a container on the way; given Append on shared/, he may.
func TestConformanceCreateNeedsAppend(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base, root := s.BaseURL(), s.PodRoot("alice")
	acl := func(own string) string {
		doc := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#below> a acl:Authorization; acl:agent <` + s.WebID("bob") + `>; acl:default <./>; acl:mode acl:Read, acl:Write.
`
		if own != "" {
			doc += `<#own> a acl:Authorization; acl:agent <` + s.WebID("bob") + `>; acl:accessTo <./>; acl:mode ` + own + ".\n"
		}
		return doc
	}
	const ins = "INSERT DATA { <#a> <http://example.org/p> 1 . }"
	steps := []struct {
		name string
		c    call
		want int
	}{
		{"ACL: bob writes below shared/", call{method: "PUT", path: "/alice/shared/.acl", key: aliceKey, ctype: "text/turtle", body: acl("")}, 201},
		{"alice creates a document", call{method: "PUT", path: "/alice/shared/doc", key: aliceKey, ctype: "text/plain", body: "a"}, 201},
		{"bob replaces it", call{method: "PUT", path: "/alice/shared/doc", key: bobKey, ctype: "text/plain", body: "b"}, 204},
		{"bob cannot create by PUT", call{method: "PUT", path: "/alice/shared/new", key: bobKey, ctype: "text/plain", body: "b"}, 403},
		{"bob cannot create by PATCH", call{method: "PATCH", path: "/alice/shared/new", key: bobKey, ctype: "application/sparql-update", body: ins}, 403},
		{"bob cannot create a container on the way", call{method: "PUT", path: "/alice/shared/sub/new", key: bobKey, ctype: "text/plain", body: "b"}, 403},
		{"nothing was created", call{method: "GET", path: "/alice/shared/sub/", key: aliceKey}, 404},
		{"anonymous is asked to authenticate", call{method: "PUT", path: "/alice/shared/new", ctype: "text/plain", body: "b"}, 401},
		{"ACL: bob may also append to shared/", call{method: "PUT", path: "/alice/shared/.acl", key: aliceKey, ctype: "text/turtle", body: acl("acl:Append")}, 204},
		{"bob creates by PUT", call{method: "PUT", path: "/alice/shared/new", key: bobKey, ctype: "text/plain", body: "b"}, 201},
		{"bob creates by PATCH", call{method: "PATCH", path: "/alice/shared/patched", key: bobKey, ctype: "application/sparql-update", body: ins}, 201},
		{"bob creates a container on the way (Write below covers sub/)", call{method: "PUT", path: "/alice/shared/sub/new", key: bobKey, ctype: "text/plain", body: "b"}, 201},
	}
	for _, st := range steps {
		if r := do(t, base, st.c); r.status != st.want {
			t.Fatalf("%s: %s %s = %d, want %d: %s", st.name, st.c.method, st.c.path, r.status, st.want, r.body)
		}
	}
	if r := do(t, "", call{method: "GET", path: root + "shared/sub/new", key: aliceKey}); r.status != http.StatusOK || r.body != "b" {
		t.Errorf("bob's document: %d %q", r.status, r.body)
	}
}

// Issue 14, "Creating a container by PUT with an empty or whitespace-only
// RDF body": 201, and the new container reads as an empty container; a
// body with containment triples is still refused.
func TestConformancePutContainerWhitespace(t *testing.T) {
	conformance.Need(t)
	s := podtest.RunServer(t, pod.Options{})
	base, root := s.BaseURL(), s.PodRoot("alice")
	for _, body := range []string{"", " \n\t\n"} {
		p := fmt.Sprintf("/alice/made%d/", len(body))
		if r := do(t, base, call{method: "PUT", path: p, key: aliceKey, ctype: "text/turtle", body: body}); r.status != http.StatusCreated {
			t.Fatalf("PUT %s with %q: %d %s", p, body, r.status, r.body)
		}
		u := root + strings.TrimPrefix(p, "/alice/")
		if got, _ := readTurtle(t, u, aliceKey); !rdf.Isomorphic(got, containerGraph(u, nil)) {
			t.Errorf("%s reads as %v", u, got)
		}
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/refused/", key: aliceKey, ctype: "text/turtle", body: "<> <http://www.w3.org/ns/ldp#contains> <x> ."}); r.status != http.StatusConflict {
		t.Errorf("containment triples: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/refused/", key: aliceKey}); r.status != http.StatusNotFound {
		t.Errorf("the refused container exists: %d", r.status)
	}
}
