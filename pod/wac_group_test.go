package pod_test

import (
	"net/http"
	"testing"
)

// acl:agentGroup: the members a group document lists (vcard:hasMember) get
// the authorization's modes, others do not, and a change to the group
// applies to the next request.
func TestWACAgentGroup(t *testing.T) {
	s, _ := evServer(t, "")
	root := s.PodRoot("alice")
	put := func(url, ctype, body string, want int) {
		t.Helper()
		if r := evDo(t, evReq{method: "PUT", url: url, key: evKeys.alice, body: body, ctype: ctype}); r.status != want {
			t.Fatalf("PUT %s: %d %s, want %d", url, r.status, r.body, want)
		}
	}
	group := func(members ...string) string {
		doc := "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n<#team> a vcard:Group"
		for _, m := range members {
			doc += ";\n  vcard:hasMember <" + m + ">"
		}
		return doc + " .\n<#other> a vcard:Group; vcard:hasMember <" + s.WebID("crm") + "> .\n"
	}
	put(root+"groups/team", "text/turtle", group(s.WebID("bob")), http.StatusCreated)
	put(root+"shared/note", "text/plain", "for the team", http.StatusCreated)
	put(root+"shared/.acl", "text/turtle", `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#owner> a acl:Authorization; acl:agent <`+s.WebID("alice")+`>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control .
<#team> a acl:Authorization; acl:agentGroup <`+root+`groups/team#team>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read .
<#elsewhere> a acl:Authorization; acl:agentGroup <https://groups.example/g#g>;
  acl:default <./>; acl:mode acl:Write .
`, http.StatusCreated)
	read := func(key string) int {
		t.Helper()
		return evDo(t, evReq{method: "GET", url: root + "shared/note", key: key}).status
	}
	if st := read(evKeys.bob); st != http.StatusOK {
		t.Fatalf("bob, a member: %d", st)
	}
	// crm is a member of another group in the same document only.
	if st := read(evKeys.crm); st != http.StatusForbidden {
		t.Fatalf("crm, not a member: %d", st)
	}
	if st := read(""); st != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", st)
	}
	// A member gets the group's modes only.
	if r := evDo(t, evReq{method: "PUT", url: root + "shared/note", key: evKeys.bob, body: "x", ctype: "text/plain"}); r.status != http.StatusForbidden {
		t.Fatalf("bob writing: %d", r.status)
	}
	// Membership changes apply at once, without touching the ACL.
	put(root+"groups/team", "text/turtle", group(s.WebID("crm")), http.StatusNoContent)
	if st := read(evKeys.crm); st != http.StatusOK {
		t.Fatalf("crm after joining: %d", st)
	}
	if st := read(evKeys.bob); st != http.StatusForbidden {
		t.Fatalf("bob after leaving: %d", st)
	}
}
