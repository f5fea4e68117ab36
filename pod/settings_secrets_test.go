package pod_test

import (
	"net/http"
	"strings"
	"testing"
)

// Webhook secrets in settings/subscriptions are shown to the pod's owner
// only: an agent the ACL lets read the document gets it without them, in
// every format, under an ETag of its own; the Write the ACL also grants it
// is withheld (settings/ is the owner's).
func TestSettingsSecretsWithheld(t *testing.T) {
	s, _ := evServer(t, "")
	const secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
	doc := `{"version": "1", "items": [
	  {"type": "Subscription", "agent": "` + s.WebID("producer") + `", "publishes": ["realestate/contact"]},
	  {"type": "Subscription", "agent": "` + s.WebID("crm") + `", "subscribes": ["realestate/contact"],
	   "target": "https://hooks.example.com/in", "secret": "` + secret + `"}]}`
	url := s.PodRoot("alice") + "settings/subscriptions"
	if r := evDo(t, evReq{method: "PUT", url: url, key: evKeys.alice, body: doc, ctype: "application/ld+json"}); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	acl := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [
	  {"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": "` + s.WebID("alice") + `"},
	   "acl:accessTo": {"@id": "./subscriptions"}, "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]},
	  {"@id": "#bob", "@type": "acl:Authorization", "acl:agent": {"@id": "` + s.WebID("bob") + `"},
	   "acl:accessTo": {"@id": "./subscriptions"}, "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}]}]}`
	if r := evDo(t, evReq{method: "PUT", url: url + ".acl", key: evKeys.alice, body: acl, ctype: "application/ld+json"}); r.status != http.StatusCreated {
		t.Fatalf("PUT ACL: %d %s", r.status, r.body)
	}

	owner := evDo(t, evReq{method: "GET", url: url, key: evKeys.alice})
	if owner.status != http.StatusOK || !strings.Contains(owner.body, secret) {
		t.Fatalf("owner: %d %s", owner.status, owner.body)
	}
	for _, accept := range []string{"application/ld+json", "text/turtle", "application/n-triples"} {
		r := evDo(t, evReq{method: "GET", url: url, key: evKeys.bob, hdr: map[string]string{"Accept": accept}})
		if r.status != http.StatusOK || strings.Contains(r.body, "whsec_") || !strings.Contains(r.body, "hooks.example.com") {
			t.Fatalf("bob, %s: %d %s", accept, r.status, r.body)
		}
		if et := r.hdr.Get("ETag"); et == owner.hdr.Get("ETag") || !strings.Contains(et, "-r") {
			t.Fatalf("bob, %s: ETag %s (owner's %s)", accept, et, owner.hdr.Get("ETag"))
		}
	}
	// Anonymous: no read at all.
	if r := evDo(t, evReq{method: "GET", url: url}); r.status != http.StatusUnauthorized || strings.Contains(r.body, "whsec_") {
		t.Fatalf("anonymous: %d %s", r.status, r.body)
	}
	// The ACL grants bob Write, but settings/ is the owner's: bob's
	// conditional PUT is refused and the document keeps its secret.
	r := evDo(t, evReq{method: "GET", url: url, key: evKeys.bob})
	w := evDo(t, evReq{method: "PUT", url: url, key: evKeys.bob, body: `{"version": "1", "items": []}`, ctype: "application/ld+json",
		hdr: map[string]string{"If-Match": r.hdr.Get("ETag")}})
	if w.status != http.StatusForbidden {
		t.Fatalf("bob's PUT of alice's settings despite the ACL: %d %s", w.status, w.body)
	}
	if after := evDo(t, evReq{method: "GET", url: url, key: evKeys.alice}); after.body != owner.body || after.hdr.Get("ETag") != owner.hdr.Get("ETag") {
		t.Fatalf("settings changed by a refused PUT: %s", after.body)
	}
}
