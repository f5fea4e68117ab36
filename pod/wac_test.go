package pod_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// TestWACMatrix checks every combination of agent (the pod owner, another
// pod's owner, another pod's app key, anonymous), granted mode (Read, Write,
// Append, Control), operation, ACL placement (the resource's own ACL, or one
// inherited through acl:default from two levels up) and Origin (none, the
// one the ACL trusts, another).
func TestWACMatrix(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	root := base + "/alice/"
	modes := []string{"Read", "Write", "Append", "Control"}
	const goodOrigin, evilOrigin = "https://good.example", "https://evil.example"

	type agent struct {
		name, key string
		owner     bool // the pod's owner: full control whatever the ACL
		anon      bool
		noControl bool // app keys never get Control
	}
	agents := []agent{
		{name: "owner", key: aliceKey, owner: true},
		{name: "bob", key: bobKey},
		{name: "producer-app", key: producerApp, noControl: true},
		{name: "anonymous", anon: true},
	}
	// grants reports whether granted mode g allows operation op.
	grants := func(g, op string) bool { return g == op || (g == "Write" && op == "Append") }

	for _, m := range modes {
		for _, scope := range []string{"own", "inherited"} {
			dir := fmt.Sprintf("m%s-%s/", strings.ToLower(m), scope)
			var target, aclPath, subject, def string
			if scope == "own" {
				target = dir + "t/"
				aclPath, subject = target+".acl", target
			} else {
				target = dir + "a/b/"
				aclPath, subject, def = dir+".acl", dir, dir
			}
			if r := do(t, base, call{method: "PUT", path: "/alice/" + target, key: aliceKey}); r.status != 201 {
				t.Fatalf("create %s: %d %s", target, r.status, r.body)
			}
			rule := fmt.Sprintf(`{"@id": "#grant", "@type": "acl:Authorization",
				"acl:agent": [{"@id": "%s"}, {"@id": "%s"}],
				"acl:origin": {"@id": "%s"},
				"acl:accessTo": {"@id": "%s"}, %s
				"acl:mode": {"@id": "acl:%s"}}`,
				s.WebID("bob"), s.WebID("producer"), goodOrigin, root+subject, defaultClause(def, root), m)
			doc := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [` + rule + `]}`
			if r := do(t, base, call{method: "PUT", path: "/alice/" + aclPath, key: aliceKey, ctype: "application/ld+json", body: doc}); r.status != 201 {
				t.Fatalf("write %s: %d %s", aclPath, r.status, r.body)
			}
			for _, op := range modes {
				for _, a := range agents {
					for _, origin := range []string{"", goodOrigin, evilOrigin} {
						name := fmt.Sprintf("granted=%s/%s/op=%s/%s/origin=%q", m, scope, op, a.name, origin)
						c := opCall(op, "/alice/"+target)
						c.key = a.key
						if origin != "" {
							c.hdr = map[string]string{"Origin": origin}
						}
						got := do(t, base, c)
						allowed := a.owner || (!a.anon && origin != evilOrigin && grants(m, op) && !(op == "Control" && a.noControl))
						switch {
						case allowed && got.status != allowedStatus(op, scope):
							t.Errorf("%s: %d, want %d (%s)", name, got.status, allowedStatus(op, scope), got.body)
						case !allowed && a.anon && got.status != http.StatusUnauthorized:
							t.Errorf("%s: %d, want 401", name, got.status)
						case !allowed && !a.anon && got.status != http.StatusForbidden:
							t.Errorf("%s: %d, want 403", name, got.status)
						}
						if !allowed && strings.Contains(got.body, "ldp:") {
							t.Errorf("%s: refused request leaked content: %s", name, got.body)
						}
					}
				}
			}
		}
	}
}

func defaultClause(def, root string) string {
	if def == "" {
		return ""
	}
	return `"acl:default": {"@id": "` + root + def + `"},`
}

// opCall returns a request that needs exactly mode op on container p.
// allowedStatus is the one answer to opCall(op) on the matrix's target
// when access is allowed: the container is read (200), replaced (204) or
// appended to (201); its own ACL is read (200), and in the inherited
// placement it has none (404, which Control is needed to learn).
func allowedStatus(op, scope string) int {
	switch op {
	case "Read":
		return http.StatusOK
	case "Write":
		return http.StatusNoContent
	case "Append":
		return http.StatusCreated
	}
	if scope == "inherited" {
		return http.StatusNotFound
	}
	return http.StatusOK
}

func opCall(op, p string) call {
	switch op {
	case "Read":
		return call{method: "GET", path: p}
	case "Write":
		return call{method: "PUT", path: p}
	case "Append":
		return call{method: "POST", path: p, ctype: "text/plain", body: "appended"}
	}
	return call{method: "GET", path: p + ".acl"}
}

// TestACLChangesApply shows that the ACL cache is invalidated on every ACL
// write and delete, and that public read and WAC-Allow follow.
func TestACLChangesApply(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	if r := do(t, base, call{method: "PUT", path: "/alice/pub/doc", key: aliceKey, ctype: "text/plain", body: "hello"}); r.status != 201 {
		t.Fatal(r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/pub/doc"}); r.status != 401 {
		t.Fatalf("private by default: %d", r.status)
	}
	doc := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#", "foaf": "http://xmlns.com/foaf/0.1/"}, "@graph": [
		{"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": "../profile/card#me"}, "acl:accessTo": {"@id": "./"}, "acl:default": {"@id": "./"}, "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]},
		{"@id": "#public", "@type": "acl:Authorization", "acl:agentClass": {"@id": "foaf:Agent"}, "acl:default": {"@id": "./"}, "acl:mode": {"@id": "acl:Read"}}]}`
	if r := do(t, base, call{method: "PUT", path: "/alice/pub/.acl", key: aliceKey, ctype: "application/ld+json", body: doc}); r.status != 201 {
		t.Fatal(r.status, r.body)
	}
	r := do(t, base, call{method: "GET", path: "/alice/pub/doc"})
	if r.status != 200 || r.hdr.Get("WAC-Allow") != `user="read",public="read"` {
		t.Fatalf("after granting public read: %d %q", r.status, r.hdr.Get("WAC-Allow"))
	}
	if r := do(t, base, call{method: "GET", path: "/alice/pub/.acl"}); r.status != 401 {
		t.Errorf("ACL readable without Control: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/pub/.acl", key: bobKey}); r.status != 403 {
		t.Errorf("ACL readable by bob: %d", r.status)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/pub/.acl", key: aliceKey, ctype: "application/ld+json", body: `{"@context": `}); r.status != 400 {
		t.Errorf("malformed ACL accepted: %d", r.status)
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/pub/.acl", key: aliceKey}); r.status != 204 {
		t.Fatal(r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/pub/doc"}); r.status != 401 {
		t.Errorf("after deleting the ACL: %d", r.status)
	}
	// bob's key has no business writing alice's resources.
	if r := do(t, base, call{method: "PUT", path: "/alice/pub/doc", key: bobKey, ctype: "text/plain", body: "x"}); r.status != 403 {
		t.Errorf("bob writes alice's pod: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/pub/doc"}); r.status != 401 {
		t.Errorf("anonymous read: %d", r.status)
	}
	// A missing resource answers like an existing one to those without
	// access: no existence leak.
	if r := do(t, base, call{method: "GET", path: "/alice/pub/no-such-thing", key: bobKey}); r.status != 403 {
		t.Errorf("missing resource for bob: %d", r.status)
	}
}
