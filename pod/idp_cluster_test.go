package pod_test

import (
	"net/url"
	"strings"
	"testing"

	"podserver/pod"
)

// TestIDPLoginLimitAcrossNodes: failed logins are counted in the shared
// store, so two nodes together allow what one allows: failures spread
// over both block the pod on both. Skipped without PostgreSQL (failing
// when PODSERVER_POSTGRES_TESTS=1).
func TestIDPLoginLimitAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := "http://"+nodes[0].Addr(), "http://"+nodes[1].Addr()
	app := newIDPApp(t, a)
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	page := app.authorize(v, rpRedirect)
	if page.status != 200 {
		t.Fatalf("login page: %d %s", page.status, page.body)
	}
	id, csrf := formFields(t, page.body)
	post := func(node, password string) reply {
		return app.postForm(node+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"bob"}, "password": {password}})
	}
	// LoginAttempts (10) failures, alternating between the nodes.
	for i := range 10 {
		node := []string{a, b}[i%2]
		if r := post(node, "wrong password "+string(rune('a'+i))); r.status != 401 || !strings.Contains(r.body, "wrong") {
			t.Fatalf("failure %d: %d %s", i, r.status, r.body)
		}
	}
	for _, node := range []string{a, b} {
		if r := post(node, "wrong password again"); r.status != 429 || r.hdr.Get("Retry-After") == "" {
			t.Fatalf("after 10 failures over two nodes, %s answers %d %s", node, r.status, r.body)
		}
		if r := post(node, pod.DemoPassword); r.status != 429 {
			t.Fatalf("the right password while limited, on %s: %d", node, r.status)
		}
	}
	// Another pod is not limited (the client address is, after three
	// times as many): its login goes on to the consent page.
	if r := app.postForm(b+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"alice"}, "password": {pod.DemoPassword}}); r.status != 200 || !strings.Contains(r.body, "Allow access?") {
		t.Fatalf("alice's login on B: %d %s", r.status, r.body)
	}
}
