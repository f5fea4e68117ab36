package pod_test

import (
	"encoding/json"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

func TestKeysAPI(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	cases := []struct {
		name string
		c    call
		want int
	}{
		{"anonymous list", call{method: "GET", path: "/alice/settings/keys/"}, 401},
		{"bob lists alice's keys", call{method: "GET", path: "/alice/settings/keys/", key: bobKey}, 403},
		{"app key lists its own pod's keys", call{method: "GET", path: "/producer/settings/keys/", key: producerApp}, 403},
		{"bad body", call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: `{}`}, 400},
		{"reserved app name", call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: `{"app": "owner"}`}, 400},
		{"owner lists", call{method: "GET", path: "/alice/settings/keys/", key: aliceKey}, 200},
	}
	for _, c := range cases {
		if r := do(t, base, c.c); r.status != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, r.status, c.want, r.body)
		}
	}
	r := do(t, base, call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: `{"app": "notes-app"}`})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var k struct{ ID, URL, App, Key string }
	if err := json.Unmarshal([]byte(r.body), &k); err != nil || k.Key == "" || k.App != "notes-app" || r.hdr.Get("Location") != k.URL {
		t.Fatalf("create reply: %s (%v)", r.body, err)
	}
	// The new app key works as alice's WebID, without Control.
	if r := do(t, base, call{method: "PUT", path: "/alice/notes/x", key: k.Key, ctype: "text/plain", body: "x"}); r.status != 201 {
		t.Errorf("app key write: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/.acl", key: k.Key}); r.status != 403 {
		t.Errorf("app key reads ACL: %d", r.status)
	}
	// The listing never shows secrets.
	if l := do(t, base, call{method: "GET", path: "/alice/settings/keys/", key: aliceKey}); l.status != 200 || contains(l.body, k.Key) || !contains(l.body, k.ID) {
		t.Errorf("listing: %d %s", l.status, l.body)
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/settings/keys/" + k.ID, key: aliceKey}); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/notes/x", key: k.Key}); r.status != 401 {
		t.Errorf("revoked key still works: %d", r.status)
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/settings/keys/" + k.ID, key: aliceKey}); r.status != 404 {
		t.Errorf("revoke twice: %d", r.status)
	}
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
