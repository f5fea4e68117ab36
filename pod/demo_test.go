package pod_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/pod"
)

// demoDo is conDo without the response headers.
func demoDo(t *testing.T, method, url, key, ctype, body string) (int, string) {
	t.Helper()
	status, _, b := conDo(t, method, url, key, ctype, body)
	return status, b
}

// TestDemoReset: ResetDemo, which serve --demo runs on every start, puts
// demo pods that exist back in their documented state: what was
// written into them is gone, their settings, ACLs and keys are the
// fixtures' again, and their profile (signing key) is unchanged. A pod
// that is no demo pod is left alone.
func TestDemoReset(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	defer ts.Close()
	s, err := pod.New(pod.Options{InMemory: true, BaseURL: ts.URL, AllowPrivateTargets: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	ts.Config.Handler = s.Handler()
	ctx := context.Background()
	if _, err := s.ProvisionDemo(ctx); err != nil {
		t.Fatal(err)
	}
	carol, err := s.CreatePod(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	const (
		alice    = "pk_demo_alice_owner_0123456789"
		producer = "pk_demo_producer_publisher_0123456789"
	)
	b := ts.URL
	documented := map[string]string{}
	for _, p := range []string{"/alice/profile/card", "/alice/.acl", "/alice/inbox/.acl", "/alice/settings/subscriptions", "/alice/inbox/", "/alice/", "/producer/publish/"} {
		code, body := demoDo(t, "GET", b+p, alice, "", "")
		if p == "/producer/publish/" {
			code, body = demoDo(t, "GET", b+p, "pk_demo_producer_owner_0123456789", "", "")
		}
		if code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		documented[p] = body
	}

	// Change all of it, as the walk-through and a curious user would.
	event := `{"recipient": "` + b + `/alice/profile/card#me", "topic": "realestate/contact#add", "data": {"type": "AddAction"}}`
	for _, w := range []struct{ method, path, key, ctype, body string }{
		{"PUT", "/alice/notes/hello.txt", alice, "text/plain", "Hello, pod!"},
		{"PUT", "/alice/notes/deep/er.txt", alice, "text/plain", "nested"},
		{"PUT", "/alice/notes/hello.txt.acl", alice, "text/turtle", "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n<#p> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <hello.txt>; acl:mode acl:Read ."},
		{"POST", "/producer/publish/", producer, "application/json", event},
		{"PUT", "/alice/inbox/.acl", alice, "text/turtle", "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n<#o> a acl:Authorization; acl:agent <../profile/card#me>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control ."},
		{"PUT", "/alice/settings/subscriptions", alice, "application/json", `{"version": "1", "items": []}`},
	} {
		if code, body := demoDo(t, w.method, b+w.path, w.key, w.ctype, w.body); code >= 300 {
			t.Fatalf("%s %s: %d %s", w.method, w.path, code, body)
		}
	}
	code, body := demoDo(t, "POST", b+"/alice/settings/keys/", alice, "application/json", `{"app": "extra"}`)
	var extra struct {
		Key string `json:"key"`
	}
	if code != 201 || json.Unmarshal([]byte(body), &extra) != nil {
		t.Fatalf("create an app key: %d %s", code, body)
	}
	secret := extra.Key
	if !strings.HasPrefix(secret, "pk_") {
		t.Fatalf("no secret in %s", body)
	}
	if code, _ := demoDo(t, "GET", b+"/alice/notes/hello.txt", "", "", ""); code != 200 {
		t.Fatalf("the public note: %d", code)
	}
	if code, body := demoDo(t, "GET", b+"/alice/inbox/", alice, "", ""); code != 200 || body == documented["/alice/inbox/"] {
		t.Fatalf("the event did not reach alice's inbox: %d %s", code, body)
	}
	if code, _ := demoDo(t, "GET", b+"/alice/notes/", secret, "", ""); code != 200 {
		t.Fatalf("the extra app key: %d", code)
	}
	if code, _ := demoDo(t, "PUT", b+"/carol/notes/keep.txt", carol, "text/plain", "mine"); code != 201 {
		t.Fatalf("carol's note: %d", code)
	}

	// ProvisionDemo, which tests restarting a server run, keeps it all.
	if _, err := s.ProvisionDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := demoDo(t, "GET", b+"/alice/notes/hello.txt", "", "", ""); code != 200 || body != "Hello, pod!" {
		t.Fatalf("ProvisionDemo changed a demo pod's content: %d %q", code, body)
	}
	if code, _ := demoDo(t, "GET", b+"/alice/notes/", secret, "", ""); code != 200 {
		t.Fatalf("ProvisionDemo revoked a key: %d", code)
	}

	// What serve --demo does on its next start.
	if _, err := s.ResetDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for p, want := range documented {
		key := alice
		if p == "/producer/publish/" {
			key = "pk_demo_producer_owner_0123456789"
		}
		if code, got := demoDo(t, "GET", b+p, key, "", ""); code != 200 || got != want {
			t.Errorf("GET %s after the reset: %d\n%s\nwant as provisioned:\n%s", p, code, got, want)
		}
	}
	for _, p := range []string{"/alice/notes/hello.txt", "/alice/notes/", "/alice/notes/deep/er.txt", "/alice/notes/hello.txt.acl"} {
		if code, body := demoDo(t, "GET", b+p, alice, "", ""); code != 404 {
			t.Errorf("GET %s after the reset: %d %s; want 404", p, code, body)
		}
	}
	if code, _ := demoDo(t, "GET", b+"/alice/profile/card", secret, "", ""); code != 401 {
		t.Errorf("the app key made before the reset: %d; want 401 (revoked)", code)
	}
	if code, body := demoDo(t, "GET", b+"/carol/notes/keep.txt", carol, "", ""); code != 200 || body != "mine" {
		t.Errorf("carol, no demo pod, lost her note: %d %q", code, body)
	}
	// The walk-through works again: a note is created anew, and producer
	// may publish to alice again.
	if code, body := demoDo(t, "PUT", b+"/alice/notes/hello.txt", alice, "text/plain", "Hello, pod!"); code != 201 {
		t.Errorf("PUT the note again: %d %s; want 201 Created", code, body)
	}
	if code, body := demoDo(t, "POST", b+"/producer/publish/", producer, "application/json", event); code != 201 {
		t.Errorf("publish after the reset: %d %s", code, body)
	}
}
