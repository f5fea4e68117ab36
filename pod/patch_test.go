package pod_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

const n3Prefix = "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix ex: <http://example.org/>.\n"

func TestPatch(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	n3 := func(body string) call {
		return call{method: "PATCH", path: "/alice/data/doc", key: aliceKey, ctype: "text/n3", body: n3Prefix + body}
	}
	sparql := func(body string) call {
		return call{method: "PATCH", path: "/alice/data/doc", key: aliceKey, ctype: "application/sparql-update", body: body}
	}
	steps := []struct {
		name string
		c    call
		want int
	}{
		{"insert creates", n3(`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:count 1 . <#a> ex:name "A" . }.`), 201},
		{"where + delete + insert", n3(`_:p a solid:InsertDeletePatch; solid:where { ?x ex:count ?n . }; solid:deletes { ?x ex:count ?n . }; solid:inserts { ?x ex:count 2 . }.`), 204},
		{"where without match", n3(`_:p a solid:InsertDeletePatch; solid:where { ?x ex:count 99 . }; solid:inserts { ?x ex:count 3 . }.`), 409},
		{"delete of an absent triple", n3(`_:p a solid:InsertDeletePatch; solid:deletes { <#a> ex:name "B" . }.`), 409},
		{"malformed N3 patch", n3(`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:name  }.`), 422},
		{"no patch resource", n3(`<#a> ex:name "x" .`), 422},
		{"SPARQL INSERT DATA", sparql(`PREFIX ex: <http://example.org/> INSERT DATA { <#b> ex:name "B" . }`), 204},
		{"SPARQL DELETE/INSERT WHERE", sparql(`PREFIX ex: <http://example.org/> DELETE { ?s ex:name ?o } INSERT { ?s ex:label ?o } WHERE { ?s ex:name ?o }`), 204},
		{"SPARQL unsupported", sparql(`PREFIX ex: <http://example.org/> INSERT { ?s ex:x 1 } WHERE { OPTIONAL { ?s ex:y ?z } }`), 422},
		{"wrong media type", call{method: "PATCH", path: "/alice/data/doc", key: aliceKey, ctype: "text/plain", body: "x"}, 415},
		{"anonymous", call{method: "PATCH", path: "/alice/data/doc", ctype: "text/n3", body: n3Prefix + `_:p a solid:InsertDeletePatch; solid:inserts { <#c> ex:name "C" . }.`}, 401},
		{"container", call{method: "PATCH", path: "/alice/data/", key: aliceKey, ctype: "text/n3", body: n3Prefix + `_:p a solid:InsertDeletePatch; solid:inserts { <#c> ex:name "C" . }.`}, 405},
	}
	for _, st := range steps {
		if r := do(t, base, st.c); r.status != st.want {
			t.Fatalf("%s: %d, want %d (%s)", st.name, r.status, st.want, r.body)
		}
	}
	r := do(t, base, call{method: "GET", path: "/alice/data/doc", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
	got, err := rdf.Parse("text/turtle", []byte(r.body), base+"/alice/data/doc")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rdf.Parse("text/turtle", []byte(`@prefix ex: <http://example.org/>.
<#a> ex:count 2; ex:label "A". <#b> ex:label "B".`), base+"/alice/data/doc")
	if !rdf.Isomorphic(got, want) {
		t.Errorf("after the patches:\n%s", r.body)
	}
	// A non-RDF resource cannot be patched.
	do(t, base, call{method: "PUT", path: "/alice/data/plain", key: aliceKey, ctype: "text/plain", body: "x"})
	if r := do(t, base, call{method: "PATCH", path: "/alice/data/plain", key: aliceKey, ctype: "application/sparql-update", body: `INSERT DATA { <#a> <#b> <#c> . }`}); r.status != 415 {
		t.Errorf("PATCH of a non-RDF resource: %d", r.status)
	}
}

// TestPatchModes: inserts need Append, deletes need Read and Write.
func TestPatchModes(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	do(t, base, call{method: "PUT", path: "/alice/log/doc", key: aliceKey, ctype: "text/turtle", body: `<#a> <#b> "x" .`})
	aclTTL := `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#owner> a acl:Authorization ; acl:agent <../profile/card#me> ; acl:accessTo <./> ; acl:default <./> ; acl:mode acl:Read, acl:Write, acl:Control .
<#bob> a acl:Authorization ; acl:agent <` + s.WebID("bob") + `> ; acl:default <./> ; acl:mode acl:Append .`
	if r := do(t, base, call{method: "PUT", path: "/alice/log/.acl", key: aliceKey, ctype: "text/turtle", body: aclTTL}); r.status != 201 {
		t.Fatal(r.status, r.body)
	}
	ins := `INSERT DATA { <#c> <#d> "y" . }`
	del := `DELETE DATA { <#a> <#b> "x" . }`
	if r := do(t, base, call{method: "PATCH", path: "/alice/log/doc", key: bobKey, ctype: "application/sparql-update", body: ins}); r.status != 204 {
		t.Errorf("bob inserts with Append: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "PATCH", path: "/alice/log/doc", key: bobKey, ctype: "application/sparql-update", body: del}); r.status != 403 {
		t.Errorf("bob deletes with Append only: %d", r.status)
	}
}

// TestConcurrentPatches: many PATCHes of one resource at once all apply.
func TestConcurrentPatches(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	do(t, base, call{method: "PUT", path: "/alice/c/doc", key: aliceKey, ctype: "application/ld+json", body: `{"@id": "#root", "name": "root"}`})
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`INSERT DATA { <#item%d> <http://example.org/n> %d . }`, i, i)
			if r := do(fromGoroutine(t), base, call{method: "PATCH", path: "/alice/c/doc", key: aliceKey, ctype: "application/sparql-update", body: body}); r.status != 204 {
				errs <- fmt.Sprintf("patch %d: %d %s", i, r.status, r.body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	r := do(t, base, call{method: "GET", path: "/alice/c/doc", key: aliceKey, hdr: map[string]string{"Accept": "application/n-triples"}})
	if got := strings.Count(r.body, "<http://example.org/n>"); got != n {
		t.Errorf("%d of %d concurrent inserts survived:\n%s", got, n, r.body)
	}
}

// TestHostilePatches replays the hostile review's patches (findings 3 and
// 4) with smaller inputs that are still past the limits: each gets its
// 4xx with a JSON error naming the limit, quickly, and the resource stays
// as it was.
func TestHostilePatches(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	var small, bigger strings.Builder // 300 and 600 triples <urn:sI> <urn:p> <urn:oI>
	for i := range 600 {
		if i < 300 {
			fmt.Fprintf(&small, "<urn:s%d> <urn:p> <urn:o%d> .\n", i, i)
		}
		fmt.Fprintf(&bigger, "<urn:s%d> <urn:p> <urn:o%d> .\n", i, i)
	}
	long := "<urn:s> <urn:p> \"" + strings.Repeat("x", 200_000) + "\" .\n"
	join := `DELETE { ?a <urn:none> ?c } WHERE { ?a ?b ?c . ?d ?e ?f }`
	miss := `DELETE { ?a <urn:none> ?c } WHERE { ?a <urn:p> ?c . ?c ?x ?y }`
	var fresh strings.Builder
	for j := range 400 {
		fmt.Fprintf(&fresh, "_:b%d <urn:q> ?c . ", j)
	}
	var freshLong strings.Builder
	for j := range 60 {
		fmt.Fprintf(&freshLong, "_:b%d <urn:q> ?c . ", j)
	}
	for _, tc := range []struct {
		name, doc, ctype, patch string
		status                  int
		has                     string
	}{
		{"a cross join: too many solutions", small.String(), "application/sparql-update", strings.Repeat(join+" ;\n", 5) + join, 422,
			"its WHERE clauses may have 20000 solutions in all (the solution limit)"},
		{"many operations, each cheap: the steps are summed", bigger.String(), "application/sparql-update", strings.Repeat(miss+" ;\n", 999) + miss, 422,
			"its WHERE clauses may try 250000 candidate triples in all (the evaluation limit)"},
		{"too many operations", small.String(), "application/sparql-update", strings.Repeat(miss+" ;\n", 1000) + miss, 422,
			"more than 1000 operations in one patch (the operation limit)"},
		{"fresh blank nodes: too many triples", small.String(), "application/sparql-update", `INSERT { ` + fresh.String() + `} WHERE { ?a <urn:p> ?c }`, 422,
			"its templates may be instantiated 100000 times in all (the template limit)"},
		{"fresh blank nodes: too many bytes", long, "application/sparql-update", `INSERT { ` + freshLong.String() + `} WHERE { ?a <urn:p> ?c }`, 413,
			"the patch would add more than 10485760 bytes of terms to the document"},
		{"N3 Patch: a where clause matching often", small.String(), "text/n3", n3Prefix + `_:p a solid:InsertDeletePatch; solid:where { ?a ?b ?c . ?d ?e ?f }; solid:inserts { ?a ex:x ?f }.`, 409,
			"solid:where has more than one match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/alice/data/hostile"
			if r := do(t, base, call{method: "PUT", path: path, key: aliceKey, ctype: "text/turtle", body: tc.doc}); r.status/100 != 2 {
				t.Fatalf("PUT: %d %s", r.status, r.body)
			}
			before := do(t, base, call{method: "GET", path: path, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
			r := do(t, base, call{method: "PATCH", path: path, key: aliceKey, ctype: tc.ctype, body: tc.patch})
			if r.status != tc.status || !strings.Contains(r.body, tc.has) || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("PATCH: %d %s %.300s, want %d with %q", r.status, r.hdr.Get("Content-Type"), r.body, tc.status, tc.has)
			}
			after := do(t, base, call{method: "GET", path: path, key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}})
			if after.hdr.Get("ETag") != before.hdr.Get("ETag") {
				t.Errorf("the resource changed")
			}
		})
	}
}
