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

// A group document in another pod has no members: otherwise bob could name
// a group in alice's private document in an ACL of his own and learn, by
// the access he gets, whether it lists him.
func TestWACAgentGroupOtherPod(t *testing.T) {
	s, _ := evServer(t, "")
	alice, bob := s.PodRoot("alice"), s.PodRoot("bob")
	for _, q := range []evReq{
		{method: "PUT", url: alice + "private/groups", key: evKeys.alice, ctype: "text/turtle",
			body: "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n<#friends> a vcard:Group; vcard:hasMember <" + s.WebID("crm") + "> .\n"},
		{method: "PUT", url: bob + "probe", key: evKeys.bob, ctype: "text/plain", body: "probe"},
		{method: "PUT", url: bob + "probe.acl", key: evKeys.bob, ctype: "text/turtle", body: `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#owner> a acl:Authorization; acl:agent <` + s.WebID("bob") + `>; acl:accessTo <probe>; acl:mode acl:Read, acl:Write, acl:Control .
<#probe> a acl:Authorization; acl:agentGroup <` + alice + `private/groups#friends>; acl:accessTo <probe>; acl:mode acl:Read .
`},
	} {
		if r := evDo(t, q); r.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", q.url, r.status, r.body)
		}
	}
	if r := evDo(t, evReq{method: "GET", url: alice + "private/groups", key: evKeys.crm}); r.status != http.StatusForbidden {
		t.Fatalf("crm reading alice's private groups: %d", r.status)
	}
	if r := evDo(t, evReq{method: "GET", url: bob + "probe", key: evKeys.crm}); r.status != http.StatusForbidden {
		t.Errorf("crm, listed in alice's private group, reading bob's probe through it: %d, want 403", r.status)
	}
}
