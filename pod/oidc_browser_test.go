package pod_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
)

// oidcAppServer serves the static test app of testdata/oidcapp on its own
// loopback origin, and its Client ID Document at /clientid.jsonld (made
// here, since it names the app's origin).
func oidcAppServer(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var origin string
	mux.HandleFunc("GET /clientid.jsonld", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/ld+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context":                   []string{"https://www.w3.org/ns/solid/oidc-context.jsonld"},
			"client_id":                  origin + "/clientid.jsonld",
			"client_name":                "Solid-OIDC test app (Client ID Document)",
			"client_uri":                 origin + "/",
			"redirect_uris":              []string{origin + "/"},
			"post_logout_redirect_uris":  []string{origin + "/"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"scope":                      "openid webid offline_access",
			"token_endpoint_auth_method": "none",
		})
	})
	files := http.FileServer(http.Dir("testdata/oidcapp"))
	mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	origin = srv.URL
	t.Cleanup(srv.Close)
	return srv
}

// appStep waits for the test app's log entry of step and returns its
// status and body.
func appStep(p *cdpPage, step string) (status, body string) {
	p.t.Helper()
	sel := fmt.Sprintf(`#log li[data-step=%q]`, step)
	p.waitFor("the app's "+step+" step", "document.querySelector("+jsArgs(sel)+")")
	var r struct{ Status, Body string }
	p.eval(`(() => { const li = document.querySelector(`+jsArgs(sel)+`); return {status: li.dataset.status, body: li.dataset.body}; })()`, &r)
	return r.Status, r.Body
}

// clearStep removes the test app's log entry of step (so the next click
// waits for a fresh one).
func clearStep(p *cdpPage, step string) {
	p.t.Helper()
	p.eval(`(() => { const li = document.querySelector(`+jsArgs(fmt.Sprintf(`#log li[data-step=%q]`, step))+`); if (li) li.remove(); return true; })()`, nil)
}

// idpLogin fills this server's login page (/.oidc/login) with the pod
// name and a password (or an owner key), then allows the app on the
// consent page, checking that it names the app and the WebID.
func idpLogin(t *testing.T, p *cdpPage, s *pod.Server, podName, secret string, byPassword bool, appName string) {
	t.Helper()
	p.waitFor("the login page", `location.pathname === "/.oidc/login" && document.readyState === "complete"`)
	p.fill("label=Pod", podName)
	if byPassword {
		p.fill("label=Password", secret)
	} else {
		p.fill("label=Owner key", secret)
	}
	p.click("button[type=submit]", "")
	p.waitFor("the consent page", `location.pathname === "/.oidc/consent" && document.readyState === "complete"`)
	p.waitText("main", appName)
	p.waitText("main", s.WebID(podName))
	p.click("button", "Allow")
}

// TestOIDCBrowserApp drives headless Chromium through a static browser
// app (testdata/oidcapp, on another loopback origin) that logs in at this
// server's identity provider with the authorization code flow, PKCE and
// DPoP made with WebCrypto, reads and writes a private resource, refreshes,
// and logs out three ways: revocation, the end-session endpoint, and the
// owner revoking the app in the console. After each, the token the app
// holds gets 401.
func TestOIDCBrowserApp(t *testing.T) {
	bin := needChromium(t)
	// AllowPrivateTargets: the Client ID Document is on loopback.
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	app := oidcAppServer(t)
	b := startChromium(t, bin)
	p := b.newPage(t)
	check := func(name string) {
		t.Helper()
		dialogs, problems := p.takeProblems()
		for _, d := range dialogs {
			t.Errorf("%s: a JavaScript dialog opened: %s", name, d)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s", name, pr)
		}
	}

	root := s.PodRoot("alice")
	note := fmt.Sprintf("alice's private note %d\n", time.Now().UnixNano())
	readURL := root + "private/browser-read.txt"
	writeURL := root + "private/browser-written.txt"
	if st, _, body := conDo(t, "PUT", readURL, conAliceKey, "text/plain", note); st != http.StatusCreated && st != http.StatusNoContent {
		t.Fatalf("put %s: %d %s", readURL, st, body)
	}
	if st, _, _ := conDo(t, "GET", readURL, "", "", ""); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Fatalf("anonymous GET of the private resource: %d, want 401 or 403", st)
	}
	const password = "correct horse battery staple"
	if st, _, body := conDo(t, "PUT", root+"settings/password", conAliceKey, "application/json", `{"password": "`+password+`"}`); st != http.StatusNoContent {
		t.Fatalf("set alice's password: %d %s", st, body)
	}
	open := func(client string) {
		t.Helper()
		q := url.Values{"issuer": {issuerOf(s)}, "read": {readURL}, "write": {writeURL}, "client": {client}}
		p.navigate(app.URL + "/?" + q.Encode())
		p.waitFor("the app", `document.body.dataset.ready === "true"`)
	}
	useApp := func(what string) {
		t.Helper()
		if st, body := appStep(p, "read"); st != "200" || body != note {
			t.Errorf("%s: read %s %q, want 200 %q", what, st, body, note)
		}
		clearStep(p, "read")
	}
	retry401 := func(what string) {
		t.Helper()
		clearStep(p, "retry")
		p.click("#retry", "")
		st, body := appStep(p, "retry")
		if st != "401" || !strings.Contains(body, "DPoP") {
			t.Errorf("%s: the old token got %s %q, want 401 with a DPoP challenge", what, st, body)
		}
	}

	// 1. Dynamic registration, login with the password, consent.
	open("register")
	p.click("#login", "")
	idpLogin(t, p, s, "alice", password, true, "Solid-OIDC test app")
	if st, body := appStep(p, "login"); st != "ok" || body != s.WebID("alice") {
		t.Fatalf("login: %s %q", st, body)
	}
	check("login (dynamic registration, password)")
	p.click("#read", "")
	useApp("after login")
	p.click("#write", "")
	st, written := appStep(p, "write")
	if st != "201" && st != "204" {
		t.Errorf("write: %s %q", st, written)
	}
	if st, body := appStep(p, "readback"); st != "200" || body != written {
		t.Errorf("read back: %s %q, want 200 %q", st, body, written)
	}
	if st, _, body := conDo(t, "GET", writeURL, conAliceKey, "", ""); st != http.StatusOK || body != written {
		t.Errorf("the resource the app wrote: %d %q, want %q", st, body, written)
	}
	p.click("#refresh", "")
	if st, body := appStep(p, "refresh"); st != "200" || body != "rotated" {
		t.Errorf("refresh: %s %q, want 200 rotated", st, body)
	}
	p.click("#read", "")
	useApp("after refresh")
	check("read, write, refresh")
	p.click("#revoke", "")
	if st, body := appStep(p, "revoke"); st != "200" {
		t.Errorf("revoke: %s %q", st, body)
	}
	retry401("after revocation")
	check("revocation")

	// 2. The app's Client ID Document, login with the owner key; logout
	// at the end-session endpoint.
	open("document")
	p.click("#login", "")
	if !oidcMaybeLogin(t, p, s, "alice", conAliceKey, "Solid-OIDC test app (Client ID Document)") {
		t.Log("the identity provider kept the login session: consent only")
	}
	if st, body := appStep(p, "login"); st != "ok" || body != s.WebID("alice") {
		t.Fatalf("login with the Client ID Document: %s %q", st, body)
	}
	if st, body := appStep(p, "client"); st != "ok" || body != app.URL+"/clientid.jsonld" {
		t.Errorf("client: %s %q", st, body)
	}
	p.click("#read", "")
	useApp("Client ID Document")
	p.click("#end-session", "")
	if st, _ := appStep(p, "end-session"); st != "ok" {
		t.Errorf("end session: %s", st)
	}
	retry401("after end session")
	check("Client ID Document, end session")

	// 3. The owner revokes the app in the console.
	open("register")
	p.click("#login", "")
	oidcMaybeLogin(t, p, s, "alice", password, "Solid-OIDC test app")
	if st, _ := appStep(p, "login"); st != "ok" {
		t.Fatalf("third login: %s", st)
	}
	p.click("#read", "")
	useApp("third login")
	var clientID string
	p.eval(`document.querySelector("#client-id").textContent`, &clientID)
	c := b.newPage(t)
	c.navigate(s.ConsoleURL())
	signIn(c, "alice", conAliceKey)
	c.waitText("h1", "Pod alice")
	c.navigate(s.ConsoleURL() + "#/apps")
	row := fmt.Sprintf("#apps-table tr[data-client-id=%q]", clientID)
	c.waitText(row, "Solid-OIDC test app")
	c.click(row+" button", "Revoke")
	c.click(row+" button", "Yes, revoke")
	c.waitFor("the app to go", `!document.querySelector("main").textContent.includes(`+jsArgs(clientID)+`)`)
	c.waitText(".status", "its tokens no longer work")
	if d, pr := c.takeProblems(); len(d)+len(pr) > 0 {
		t.Errorf("console: dialogs %v, problems %v", d, pr)
	}
	retry401("after the owner revoked the app")
	p.click("#refresh", "")
	if st, _ := appStep(p, "refresh"); st == "200" {
		t.Error("the refresh token still works after the owner revoked the app")
	}
	check("console revokes the app")
}

// oidcMaybeLogin logs in at the login page when the identity provider asks
// (it reports whether it did), then allows the app on the consent page.
func oidcMaybeLogin(t *testing.T, p *cdpPage, s *pod.Server, podName, secret, appName string) bool {
	t.Helper()
	p.waitFor("the login or consent page", `location.pathname === "/.oidc/login" || location.pathname === "/.oidc/consent"`)
	var path string
	p.eval(`location.pathname`, &path)
	if path == "/.oidc/login" {
		idpLogin(t, p, s, podName, secret, !strings.HasPrefix(secret, "pk_"), appName)
		return true
	}
	p.waitFor("the consent page to load", `document.readyState === "complete"`)
	p.waitText("main", appName)
	p.click("button", "Allow")
	return false
}
