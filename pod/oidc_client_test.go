package pod_test

import (
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
	"podserver/solidoidc/oidctest"
)

// TestSolidOIDCClientRestriction: an ACL grants carol (a WebID on another
// server whose profile names the test issuer) access only through listed
// clients (acl:client): a Client ID Document URL (read and write) and an
// opaque registered id written as a Turtle string (read), plus append for
// everyone through that opaque client. A token for a listed client gets
// what its rule gives, and WAC-Allow says so, with public="" because an
// anonymous request has no client; a token for another client, a token
// without client_id and carol's WebID with no token are refused; an ACL
// whose acl:client is a blank node is refused when written.
func TestSolidOIDCClientRestriction(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	base := s.BaseURL()
	profile := "@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n<#me> solid:oidcIssuer <" + iss.URL + "> .\n"
	remote := profileServer(t, map[string]string{"/carol/card": profile, "/dave/card": profile})
	carol, dave := remote.URL+"/carol/card#me", remote.URL+"/dave/card#me"
	const (
		appA   = "https://app.example/id" // the test issuer's default client_id
		script = "script-7f3a"
	)
	doc := base + "/alice/clients/doc"
	if r := do(t, base, call{method: "PUT", path: "/alice/clients/doc", key: aliceKey, ctype: "text/plain", body: "diary"}); r.status != 201 {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	aclDoc := `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<#app> a acl:Authorization; acl:agent <` + carol + `>; acl:client <` + appA + `>;
    acl:accessTo <doc>; acl:mode acl:Read, acl:Write.
<#script> a acl:Authorization; acl:agent <` + carol + `>; acl:client "` + script + `";
    acl:accessTo <doc>; acl:mode acl:Read.
<#drop> a acl:Authorization; acl:agentClass foaf:Agent; acl:client "` + script + `";
    acl:accessTo <doc>; acl:mode acl:Append.
`
	if r := do(t, base, call{method: "PUT", path: "/alice/clients/doc.acl", key: aliceKey, ctype: "text/turtle", body: aclDoc}); r.status != 201 {
		t.Fatalf("PUT acl: %d %s", r.status, r.body)
	}
	bad := strings.Replace(aclDoc, `acl:client <`+appA+`>`, `acl:client [ a acl:App ]`, 1)
	if r := do(t, base, call{method: "PUT", path: "/alice/clients/doc.acl", key: aliceKey, ctype: "text/turtle", body: bad}); r.status != 400 || !strings.Contains(r.body, "acl:client must be an IRI or a non-empty string") {
		t.Fatalf("PUT an ACL with a blank node client: %d %s", r.status, r.body)
	}

	// send sends method doc as webID with a token whose claims are
	// changed by extra, and a fresh proof.
	send := func(method, webID string, extra oidctest.Claims, body string) reply {
		t.Helper()
		key := oidctest.NewKey(t)
		tok := iss.Token(t, time.Now(), webID, key, extra)
		proof := oidctest.Proof(t, key, method, doc, tok, time.Now(), nil)
		c := call{method: method, path: doc, body: body, hdr: map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof}}
		if body != "" {
			c.ctype = "text/plain"
		}
		return do(t, base, c)
	}
	client := func(id string) oidctest.Claims { return oidctest.Claims{"client_id": id, "aud": []string{"solid", id}} }

	tests := []struct {
		name     string
		method   string
		webID    string
		claims   oidctest.Claims
		body     string
		status   int
		wacAllow string // "" when the reply has none
	}{
		{"listed client reads", "GET", carol, client(appA), "", 200, `user="read write append",public=""`},
		{"listed opaque client reads", "GET", carol, client(script), "", 200, `user="read append",public=""`},
		{"listed client writes", "PUT", carol, client(appA), "rewritten", 204, ""},
		{"read-only client may not write", "PUT", carol, client(script), "no", 403, ""},
		{"other client", "GET", carol, client("https://other.example/id"), "", 403, ""},
		{"client id differs in case", "GET", carol, client("https://APP.example/id"), "", 403, ""},
		{"no client_id", "GET", carol, oidctest.Claims{"client_id": nil}, "", 403, ""},
		{"agent not listed, listed client", "GET", dave, client(appA), "", 403, ""},
	}
	for _, tt := range tests {
		r := send(tt.method, tt.webID, tt.claims, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: %s = %d %s, want %d", tt.name, tt.method, r.status, r.body, tt.status)
			continue
		}
		if got := r.hdr.Get("WAC-Allow"); tt.wacAllow != "" && got != tt.wacAllow {
			t.Errorf("%s: WAC-Allow = %q, want %q", tt.name, got, tt.wacAllow)
		}
	}
	if r := send("GET", carol, client(appA), ""); r.status != 200 || r.body != "rewritten" {
		t.Errorf("GET after carol's write: %d %q", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/clients/doc"}); r.status != 401 {
		t.Errorf("anonymous GET: %d %s", r.status, r.body)
	}
}

// TestSolidOIDCClientRestrictionNotifications: a notification channel made
// with a token keeps the token's client id, so a subscriber that may read
// the topic only through a client-restricted rule (acl:client) is notified
// of its changes; before the channel kept it, every notification was
// refused.
func TestSolidOIDCClientRestrictionNotifications(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	base := s.BaseURL()
	remote := profileServer(t, map[string]string{"/carol/card": "@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n<#me> solid:oidcIssuer <" + iss.URL + "> .\n"})
	carol := remote.URL + "/carol/card#me"
	const appA = "https://app.example/id"
	doc := base + "/alice/watched/doc"
	if r := do(t, base, call{method: "PUT", path: "/alice/watched/doc", key: aliceKey, ctype: "text/plain", body: "v1"}); r.status != 201 {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	aclDoc := `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#app> a acl:Authorization; acl:agent <` + carol + `>; acl:client <` + appA + `>;
    acl:accessTo <doc>; acl:mode acl:Read.
`
	if r := do(t, base, call{method: "PUT", path: "/alice/watched/doc.acl", key: aliceKey, ctype: "text/turtle", body: aclDoc}); r.status != 201 {
		t.Fatalf("PUT acl: %d %s", r.status, r.body)
	}
	hook := ntStartHook(t, "127.0.0.1:0")
	sub := base + "/alice/.notifications/webhook/"
	key := oidctest.NewKey(t)
	tok := iss.Token(t, time.Now(), carol, key, oidctest.Claims{"client_id": appA, "aud": []string{"solid", appA}})
	proof := oidctest.Proof(t, key, "POST", sub, tok, time.Now(), nil)
	body := `{"@context": ["` + ntContext + `"], "type": "WebhookChannel2023", "topic": "` + doc + `", "sendTo": "` + hook.url() + `"}`
	if r := do(t, base, call{method: "POST", path: sub, ctype: "application/ld+json", body: body,
		hdr: map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof}}); r.status != 200 {
		t.Fatalf("subscribe with a token for the listed client: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/watched/doc", key: aliceKey, ctype: "text/plain", body: "v2"}); r.status != 204 {
		t.Fatalf("PUT doc again: %d %s", r.status, r.body)
	}
	m := ntParse(t, hook.next(t, 5*time.Second).body)
	ntExpect(t, m, "Update", doc, "")
}
