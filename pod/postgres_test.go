package pod_test

import (
	"net/http"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// TestServerOnPostgres runs a server on PostgreSQL through a publish, an
// inbox read, an ACL change that must apply to the next request (the ACL
// cache follows pgstore's change feed) and a restart that keeps it all.
func TestServerOnPostgres(t *testing.T) {
	url := pgCluster.URL(t)
	s, stop := podtest.RunStoppable(t, pod.Options{StoreURL: url})

	r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s))
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	loc := r.hdr.Get("Location")
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"bob", evKeys.bob}, {"crm", evKeys.crm}} {
		if n := countID(allCopies(t, s, who.pod, who.key), loc); n != 1 {
			t.Errorf("%s inbox: %d copies of %s; want 1", who.pod, n, loc)
		}
	}

	doc := s.PodRoot("alice") + "pub/doc"
	if r := evDo(t, evReq{method: "PUT", url: doc, key: evKeys.alice, ctype: "text/plain", body: "hello"}); r.status != http.StatusCreated {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: doc}); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous GET of a private doc: %d; want 401", r.status)
	}
	acl := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#", "foaf": "http://xmlns.com/foaf/0.1/"}, "@graph": [
		{"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": "../profile/card#me"}, "acl:accessTo": {"@id": "./"}, "acl:default": {"@id": "./"}, "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]},
		{"@id": "#public", "@type": "acl:Authorization", "acl:agentClass": {"@id": "foaf:Agent"}, "acl:default": {"@id": "./"}, "acl:mode": {"@id": "acl:Read"}}]}`
	if r := evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "pub/.acl", key: evKeys.alice, ctype: "application/ld+json", body: acl}); r.status != http.StatusCreated {
		t.Fatalf("PUT .acl: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: doc}); r.status != http.StatusOK || r.body != "hello" {
		t.Fatalf("anonymous GET after granting public read: %d %q; want 200 hello", r.status, r.body)
	}

	// A new server on the same database has it all.
	stop()
	s2 := podtest.RunServer(t, pod.Options{StoreURL: url})
	if n := countID(allCopies(t, s2, "alice", evKeys.alice), loc); n != 1 {
		t.Errorf("after a restart alice's inbox holds %d copies of the event; want 1", n)
	}
	if r := evDo(t, evReq{method: "GET", url: s2.PodRoot("alice") + "pub/doc"}); r.status != http.StatusOK {
		t.Errorf("after a restart anonymous GET: %d; want 200", r.status)
	}
}
