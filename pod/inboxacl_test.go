package pod_test

import (
	"net/http"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
)

// TestInboxACLOnLocalCopies: a local copy goes into an inbox only when the
// inbox's ACL lets its sender append, as for a copy from another server.
// bob routes his topic to crm, whose inbox admits only producer: crm gets
// no copy, though bob's settings name crm, until crm lets bob append (the
// decision follows the ACL change at once). A recipient whose inbox
// refuses the publisher refuses the publish (403, nothing stored).
func TestInboxACLOnLocalCopies(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	inboxACL := func(extra string) string {
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("crm") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#producer> a acl:Authorization; acl:agent <` + s.WebID("producer") + extra + `>; acl:accessTo <./>; acl:mode acl:Append.
`
	}
	must := func(q evReq, want int) evResp {
		t.Helper()
		r := evDo(t, q)
		if r.status != want {
			t.Fatalf("%s %s: %d %s, want %d", q.method, q.url, r.status, r.body, want)
		}
		return r
	}
	must(evReq{method: "PUT", url: s.PodRoot("crm") + "inbox/.acl", key: evKeys.crm, ctype: "text/turtle", body: inboxACL("")}, http.StatusNoContent)
	// bob lets himself and producer publish bob/t, and routes it to crm.
	must(evReq{method: "PUT", url: s.PodRoot("bob") + "settings/subscriptions", key: evKeys.bob, ctype: "application/json",
		body: `{"version":"1","items":[
			{"type":"Subscription","agent":"` + s.WebID("bob") + `","publishes":["bob/t"]},
			{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["bob/t"]},
			{"type":"Subscription","agent":"` + s.WebID("crm") + `","subscribes":["bob/t"]}]}`}, http.StatusNoContent)
	crmItems := func() int {
		r := must(evReq{method: "GET", url: s.PodRoot("crm") + "inbox/?format=ids&limit=1000", key: evKeys.crm}, http.StatusOK)
		return strings.Count(r.body, s.PodRoot("crm")+"inbox/0")
	}
	before := crmItems()
	publishBob := func(name string) {
		t.Helper()
		must(evReq{method: "POST", url: s.PodRoot("bob") + "publish/?wait=10", key: evKeys.bob,
			body: `{"recipient":"` + s.WebID("bob") + `","topic":"bob/t","data":{"name":"` + name + `"}}`}, http.StatusCreated)
	}
	publishBob("refused")
	if n := crmItems(); n != before {
		t.Fatalf("crm's inbox, whose ACL does not let bob append, got %d copies routed by bob", n-before)
	}
	// crm now admits bob too: the next copy arrives.
	must(evReq{method: "PUT", url: s.PodRoot("crm") + "inbox/.acl", key: evKeys.crm, ctype: "text/turtle",
		body: inboxACL(">, <" + s.WebID("bob"))}, http.StatusNoContent)
	publishBob("admitted")
	if n := crmItems(); n != before+1 {
		t.Fatalf("crm's inbox after admitting bob: %d new copies, want 1", n-before)
	}

	// A recipient whose inbox refuses the publisher: producer may publish
	// crm's topic (demo settings) and crm's inbox admits producer; alice's
	// inbox does not admit producer once she closes it.
	aliceACL := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
`
	ev := `{"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	must(evReq{method: "POST", url: s.PodRoot("producer") + "publish/", key: evKeys.producer, body: ev}, http.StatusCreated)
	must(evReq{method: "PUT", url: s.PodRoot("alice") + "inbox/.acl", key: evKeys.alice, ctype: "text/turtle", body: aliceACL}, http.StatusNoContent)
	r := must(evReq{method: "POST", url: s.PodRoot("producer") + "publish/", key: evKeys.producer, body: ev}, http.StatusForbidden)
	if !strings.Contains(r.body, strings.SplitN(publish.MsgInboxRefused, "%", 2)[0]) || !strings.Contains(r.body, s.WebID("alice")) {
		t.Errorf("refused publish: %s", r.body)
	}
}
