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

// TestOwnerKeysAPI: the owner key makes another owner key; either revokes
// the other; the pod's last owner key is refused with 409, so no request
// locks the owner out; an app key makes no owner key.
func TestOwnerKeysAPI(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	listKeys := func(key string) []struct {
		ID    string
		Owner bool
	} {
		t.Helper()
		r := do(t, base, call{method: "GET", path: "/alice/settings/keys/", key: key})
		var l struct {
			Keys []struct {
				ID    string
				Owner bool
			}
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &l) != nil {
			t.Fatalf("list keys: %d %s", r.status, r.body)
		}
		return l.Keys
	}
	r := do(t, base, call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: `{"app": "laptop", "owner": true}`})
	var second struct {
		ID, Key string
		Owner   bool
	}
	if r.status != 201 || json.Unmarshal([]byte(r.body), &second) != nil || !second.Owner || second.Key == "" {
		t.Fatalf("create an owner key: %d %s", r.status, r.body)
	}
	// The new owner key is an owner: it edits ACLs.
	if r := do(t, base, call{method: "GET", path: "/alice/.acl", key: second.Key}); r.status != 200 {
		t.Errorf("new owner key GET .acl: %d", r.status)
	}
	var firstID string
	for _, k := range listKeys(second.Key) {
		if k.Owner && k.ID != second.ID {
			firstID = k.ID
		}
	}
	if firstID == "" {
		t.Fatal("the first owner key is not listed")
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/settings/keys/" + firstID, key: second.Key}); r.status != 204 {
		t.Fatalf("revoke the first owner key with the second: %d %s", r.status, r.body)
	}
	r = do(t, base, call{method: "DELETE", path: "/alice/settings/keys/" + second.ID, key: second.Key})
	if r.status != 409 || !strings.Contains(r.body, "last owner key") {
		t.Errorf("revoke the last owner key: %d %s, want 409", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/.acl", key: second.Key}); r.status != 200 {
		t.Errorf("the last owner key after the refused revocation: %d", r.status)
	}
	var app struct{ Key string }
	apps := do(t, base, call{method: "POST", path: "/alice/settings/keys/", key: second.Key, ctype: "application/json", body: `{"app": "sync"}`})
	if err := json.Unmarshal([]byte(apps.body), &app); err != nil || app.Key == "" {
		t.Fatalf("app key: %d %s", apps.status, apps.body)
	}
	if r := do(t, base, call{method: "POST", path: "/alice/settings/keys/", key: app.Key, ctype: "application/json", body: `{"owner": true}`}); r.status != 403 {
		t.Errorf("an app key making an owner key: %d %s, want 403", r.status, r.body)
	}
}
