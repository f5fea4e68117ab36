package ldp

import (
	"strings"
	"testing"

	"podserver/conformance"
	"podserver/rdf"
)

// grantACL is an ACL document for container dir (pod-relative, e.g.
// "ro/"): the owner may do everything; agent gets the modes in own on dir
// itself and those in def (by acl:default) on everything below it.
func grantACL(agent, own, def string) string {
	doc := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + testOwner + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
`
	if own != "" {
		doc += `<#own> a acl:Authorization; acl:` + agentKind(agent) + ` <` + agentIRI(agent) + `>; acl:accessTo <./>; acl:mode ` + own + ".\n"
	}
	if def != "" {
		doc += `<#def> a acl:Authorization; acl:` + agentKind(agent) + ` <` + agentIRI(agent) + `>; acl:default <./>; acl:mode ` + def + ".\n"
	}
	return doc
}

func agentKind(agent string) string {
	if agent == "" {
		return "agentClass"
	}
	return "agent"
}

func agentIRI(agent string) string {
	if agent == "" {
		return "http://xmlns.com/foaf/0.1/Agent"
	}
	return agent
}

// Creating a resource, by PUT or PATCH, needs Append or Write on its
// container, and on the container of every missing container created on
// the way; replacing one needs only the resource's own modes. A PATCH that
// creates needs what its operations need on the new resource too.
// Refusals keep their 401 (anonymous) and 403.
func TestCreateNeedsAppendOnContainer(t *testing.T) {
	h := newTestHandler(t)
	const ins = "INSERT DATA { <#a> <http://example.org/p> 1 . }"
	const del = "DELETE DATA { <#a> <http://example.org/p> 1 . }"
	owner := func(s step) step { s.agent = testOwner; return s }
	steps := []step{
		// ro/: testOther may write what is below (acl:default Write) but has
		// no mode on ro/ itself.
		owner(step{name: "ro ACL", method: "PUT", path: "/alice/ro/.acl", ctype: MediaTurtle, body: grantACL(testOther, "", "acl:Write"), status: 201}),
		owner(step{name: "ro existing", method: "PUT", path: "/alice/ro/old", ctype: "text/plain", body: "x", status: 201}),
		{name: "create without Append on the container", method: "PUT", path: "/alice/ro/new", agent: testOther, ctype: "text/plain", body: "x", status: 403},
		{name: "replace needs only Write on the resource", method: "PUT", path: "/alice/ro/old", agent: testOther, ctype: "text/plain", body: "y", status: 204},
		{name: "PATCH-create without Append on the container", method: "PATCH", path: "/alice/ro/new", agent: testOther, ctype: "application/sparql-update", body: ins, status: 403},
		{name: "missing intermediate container: no Append on its container", method: "PUT", path: "/alice/ro/sub/deep", agent: testOther, ctype: "text/plain", body: "x", status: 403},
		owner(step{name: "nothing was created", method: "GET", path: "/alice/ro/sub/", status: 404}),
		owner(step{name: "nor the resource", method: "GET", path: "/alice/ro/new", status: 404}),
		// ap/: Append on ap/ itself, Write below it (no Read).
		owner(step{name: "ap ACL", method: "PUT", path: "/alice/ap/.acl", ctype: MediaTurtle, body: grantACL(testOther, "acl:Append", "acl:Write"), status: 201}),
		{name: "create with Append on the container", method: "PUT", path: "/alice/ap/new", agent: testOther, ctype: "text/plain", body: "x", status: 201},
		{name: "create with intermediate containers: Append on ap/, Write (inherited) on sub/", method: "PUT", path: "/alice/ap/sub/deeper/doc", agent: testOther, ctype: "text/plain", body: "x", status: 201},
		{name: "PATCH-create with Append on the container", method: "PATCH", path: "/alice/ap/patched", agent: testOther, ctype: "application/sparql-update", body: ins, status: 201},
		{name: "PATCH-create whose delete needs Read on the new resource", method: "PATCH", path: "/alice/ap/deleting", agent: testOther, ctype: "application/sparql-update", body: del, status: 403},
		// wr/: Write on wr/ itself is enough (Write implies Append).
		owner(step{name: "wr ACL", method: "PUT", path: "/alice/wr/.acl", ctype: MediaTurtle, body: grantACL(testOther, "acl:Write", "acl:Write"), status: 201}),
		{name: "create with Write on the container", method: "PUT", path: "/alice/wr/new", agent: testOther, ctype: "text/plain", body: "x", status: 201},
		// anon/: anyone may write below, nobody may append to anon/.
		owner(step{name: "anon ACL", method: "PUT", path: "/alice/anon/.acl", ctype: MediaTurtle, body: grantACL("", "", "acl:Write"), status: 201}),
		{name: "anonymous create without Append on the container", method: "PUT", path: "/alice/anon/new", ctype: "text/plain", body: "x", status: 401},
		{name: "anonymous PATCH-create without Append on the container", method: "PATCH", path: "/alice/anon/new", ctype: "application/sparql-update", body: ins, status: 401},
		// The container of an ACL document is created with it, and needs
		// Append on the container above: the owner has it.
		owner(step{name: "ACL of a new container", method: "PUT", path: "/alice/made/by/acl/.acl", ctype: MediaTurtle, body: grantACL(testOther, "", ""), status: 201}),
		owner(step{name: "its container exists", method: "GET", path: "/alice/made/by/acl/", status: 200}),
	}
	for _, s := range steps {
		s.run(t, h)
	}
}

// A container is created by PUT with an empty, whitespace-only or
// comment-only RDF body; a body with statements, containment or other, is
// refused with 409 and nothing is created.
func TestPutContainerEmptyBody(t *testing.T) {
	conformance.Need(t)
	h := newTestHandler(t)
	put := func(name, p, ctype, body string, status int) step {
		return step{name: name, method: "PUT", path: p, agent: testOwner, ctype: ctype, body: body, status: status}
	}
	steps := []step{
		put("empty Turtle", "/alice/c1/", MediaTurtle, "", 201),
		put("whitespace Turtle", "/alice/c2/", MediaTurtle, " \n\t\r\n", 201),
		put("comment-only Turtle", "/alice/c3/", MediaTurtle, "# nothing here\n", 201),
		put("whitespace N-Triples", "/alice/c4/", MediaNTriples, "\n\n", 201),
		put("JSON-LD without statements", "/alice/c5/", MediaJSONLD, " {} ", 201),
		put("again, on the existing container", "/alice/c2/", MediaTurtle, "\n", 204),
		put("containment triples", "/alice/c6/", MediaTurtle, "<> <http://www.w3.org/ns/ldp#contains> <x> .", 409),
		put("containment triples on an existing container", "/alice/c1/", MediaTurtle, "<> <http://www.w3.org/ns/ldp#contains> <x> .", 409),
		put("other statements", "/alice/c7/", MediaTurtle, `<> <http://purl.org/dc/terms/title> "t" .`, 409),
		put("a non-RDF body", "/alice/c8/", "text/plain", " ", 409),
		put("malformed Turtle", "/alice/c9/", MediaTurtle, "<> <p", 400),
	}
	for _, s := range steps {
		s.run(t, h)
	}
	for _, p := range []string{"/alice/c6/", "/alice/c7/", "/alice/c8/", "/alice/c9/", "/alice/c1/x"} {
		step{name: "refused write stored nothing", method: "GET", path: p, agent: testOwner, status: 404}.run(t, h)
	}
	for _, c := range []string{"c1/", "c2/", "c3/", "c4/", "c5/"} {
		w := step{name: "read the new container", method: "GET", path: "/alice/" + c, agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 200}.run(t, h)
		got, err := conformance.Parse(t, MediaTurtle, testRoot+c, w.Body.Bytes(), "")
		if err != nil {
			t.Fatal(err)
		}
		if !rdf.Isomorphic(got, containerGraph(testRoot+c, nil)) {
			t.Errorf("%s: %v", c, got)
		}
	}
	w := step{name: "the pod lists them", method: "GET", path: "/alice/", agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 200}.run(t, h)
	got, err := conformance.Parse(t, MediaTurtle, testRoot, w.Body.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for _, q := range got {
		if q.P.Value == ldpNS+"contains" {
			members++
		}
	}
	if members != 6 { // public/ and c1/ to c5/
		t.Errorf("the pod root lists %d members, want 6: %v", members, got)
	}
}

// A Slug is percent-decoded and keeps the letters of any script; what
// cannot be in a name, or would name an auxiliary resource, goes.
func TestSanitizeSlug(t *testing.T) {
	for slug, want := range map[string]string{
		"hello":                  "hello",
		"caf%C3%A9":              "café",
		"été":                    "été",
		"日記 2024":                "日記 2024",
		"with space":             "with space",
		"a#b?c":                  "a#b?c",
		"100%25":                 "100%",
		"100%":                   "100%", // not percent-encoding: taken as it is
		"a/b":                    "ab",
		"a%2Fb":                  "ab",
		`a\b`:                    "ab",
		"a\x00b\x1fc\x7fd":       "abcd",
		"a%0Ab":                  "ab",
		"evil\u202Etxt.exe":      "eviltxt.exe",
		"bad\xffutf8":            "badutf8",
		".":                      "",
		"..":                     "",
		"%2E%2E":                 "",
		" . ":                    "",
		".hidden":                "hidden",
		"x.acl":                  "x",
		"x.acl.acl":              "x",
		"x%2Eacl":                "x",
		"x.acl .acl. ":           "x",
		"x.a\x01cl":              "x",
		".acl":                   "acl", // not the container's ACL: leading dots go
		strings.Repeat("é", 100): strings.Repeat("é", 64),
	} {
		if got := SanitizeSlug(slug); got != want {
			t.Errorf("SanitizeSlug(%q) = %q, want %q", slug, got, want)
		}
	}
}
