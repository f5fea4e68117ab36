package pod_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/pod"
	"podserver/podtest"
	"podserver/solidoidc/oidctest"
)

// rpRedirect is the test app's redirect URI: nothing listens there, the
// browser stops at the redirect that names it.
const rpRedirect = "http://127.0.0.1:9/callback"

// idpApp is a test app (a relying party) of a server's identity provider:
// a browser with cookies and a DPoP key.
type idpApp struct {
	t        *testing.T
	base     string
	clientID string
	key      jose.JSONWebKey
	browser  *http.Client
}

func newIDPApp(t *testing.T, base string) *idpApp {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &idpApp{t: t, base: base, key: oidctest.NewKey(t), browser: &http.Client{Jar: jar,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), rpRedirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
	r := idpPost(t, base+"/.oidc/reg", "application/json", `{"redirect_uris": ["`+rpRedirect+`"], "client_name": "Test app",
		"token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}`, nil)
	if r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var reg struct {
		ClientID string `json:"client_id"`
		Secret   string `json:"client_secret"`
	}
	_ = json.Unmarshal([]byte(r.body), &reg)
	if reg.ClientID == "" || reg.Secret != "" {
		t.Fatalf("register: %s", r.body)
	}
	a.clientID = reg.ClientID
	return a
}

func idpPost(t *testing.T, u, ctype, body string, hdr map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

func (a *idpApp) get(u string) reply {
	a.t.Helper()
	resp, err := a.browser.Get(u)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

func (a *idpApp) postForm(u string, form url.Values) reply {
	a.t.Helper()
	resp, err := a.browser.PostForm(u, form)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

var (
	hiddenID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func formFields(t *testing.T, page string) (id, csrf string) {
	t.Helper()
	m1, m2 := hiddenID.FindStringSubmatch(page), hiddenCSRF.FindStringSubmatch(page)
	if m1 == nil || m2 == nil {
		t.Fatalf("no form in page: %s", page)
	}
	return m1[1], m2[1]
}

// authorize starts a code flow with a PKCE verifier and returns the
// login page.
func (a *idpApp) authorize(verifier, redirect string) reply {
	return a.authorizeScope(verifier, redirect, "openid webid offline_access")
}

func (a *idpApp) authorizeScope(verifier, redirect, scope string) reply {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {a.clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st8"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	return a.get(a.base + "/.oidc/auth?" + q.Encode())
}

// login runs authorize, the login form (fields) and, when the provider
// asks, the consent, and returns the code.
func (a *idpApp) login(verifier string, fields url.Values) string {
	a.t.Helper()
	code, _ := a.loginScopes(verifier, fields, "openid webid offline_access")
	return code
}

// loginScopes is login asking for scope; it reports whether the consent
// page was shown (false: the owner's earlier consent was remembered).
func (a *idpApp) loginScopes(verifier string, fields url.Values, scope string) (string, bool) {
	a.t.Helper()
	page := a.authorizeScope(verifier, rpRedirect, scope)
	if page.status != 200 || !strings.Contains(page.body, "Test app") {
		a.t.Fatalf("login page: %d %s", page.status, page.body)
	}
	if csp := page.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9") || page.hdr.Get("X-Frame-Options") != "DENY" {
		a.t.Fatalf("login page headers: %v", page.hdr)
	}
	id, csrf := formFields(a.t, page.body)
	fields.Set("id", id)
	fields.Set("csrf", csrf)
	done := a.postForm(a.base+"/.oidc/login", fields)
	asked := done.status != 302
	if asked {
		consent := done
		if consent.status != 200 || !strings.Contains(consent.body, "Test app") || !strings.Contains(consent.body, "/profile/card#me") {
			a.t.Fatalf("consent page: %d %s", consent.status, consent.body)
		}
		id, csrf = formFields(a.t, consent.body)
		done = a.postForm(a.base+"/.oidc/consent", url.Values{"id": {id}, "csrf": {csrf}, "decision": {"allow"}})
	}
	loc, _ := url.Parse(done.hdr.Get("Location"))
	if done.status != 302 || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st8" {
		a.t.Fatalf("consent answer: %d %v %s", done.status, done.hdr, done.body)
	}
	return loc.Query().Get("code"), asked
}

// tokenReply is a token endpoint answer.
type tokenReply struct {
	status  int
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	Type    string `json:"token_type"`
	IDToken string `json:"id_token"`
	Error   string `json:"error"`
	Desc    string `json:"error_description"`
}

// token posts form to the token endpoint with a proof by key ("-": none;
// htu: the proof's URL, "" for the endpoint).
func (a *idpApp) token(form url.Values, key *jose.JSONWebKey, htu string) tokenReply {
	a.t.Helper()
	u := a.base + "/.oidc/token"
	if htu == "" {
		htu = u
	}
	hdr := map[string]string{}
	if key != nil {
		hdr["DPoP"] = oidctest.Proof(a.t, *key, "POST", htu, "", time.Now(), oidctest.Claims{"ath": nil})
	}
	if form.Get("client_id") == "" && form.Get("grant_type") != "client_credentials" {
		form.Set("client_id", a.clientID)
	}
	r := idpPost(a.t, u, "application/x-www-form-urlencoded", form.Encode(), hdr)
	tr := tokenReply{status: r.status}
	_ = json.Unmarshal([]byte(r.body), &tr)
	return tr
}

func (a *idpApp) exchange(code, verifier string) tokenReply {
	return a.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect},
		"code_verifier": {verifier}}, &a.key, "")
}

// read GETs u with the access token and a fresh proof.
func (a *idpApp) read(u, access string) reply {
	a.t.Helper()
	req := oidctest.Request("GET", u, access, oidctest.Proof(a.t, a.key, "GET", u, access, time.Now(), nil))
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

func wantRefused(t *testing.T, what string, r reply, reason string) {
	t.Helper()
	if r.status != 401 || !strings.Contains(r.body, reason) || !strings.Contains(r.hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("%s: want 401 (%s), got %d %s %s", what, reason, r.status, r.hdr.Get("WWW-Authenticate"), r.body)
	}
}

func idpServer(t *testing.T) (*pod.Server, string) {
	t.Helper()
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := s.BaseURL()
	if r := do(t, base, call{method: "PUT", path: "/alice/private/doc", key: aliceKey, ctype: "text/plain", body: "alice only"}); r.status != 201 {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	return s, base
}

// TestIDPCodeFlow: authorization code + PKCE + DPoP end to end, with the
// owner key and with a password; refresh rotation and reuse; revocation
// and logout refuse the access token at once.
func TestIDPCodeFlow(t *testing.T) {
	s, base := idpServer(t)
	doc := base + "/alice/private/doc"
	if r := do(t, base, call{method: "PUT", path: "/alice/settings/password", key: aliceKey, ctype: "application/json", body: `{"password": "correct horse battery"}`}); r.status != 204 {
		t.Fatalf("PUT password: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/settings/password", key: aliceKey}); r.status != 200 || !strings.Contains(r.body, `"set":true`) {
		t.Fatalf("GET password: %d %s", r.status, r.body)
	}
	logins := []struct {
		name   string
		fields url.Values
	}{
		{"owner key", url.Values{"pod": {"alice"}, "key": {aliceKey}}},
		{"password", url.Values{"pod": {"alice"}, "password": {"correct horse battery"}}},
		{"demo password", url.Values{"pod": {"bob"}, "password": {pod.DemoPassword}}},
	}
	for _, tc := range logins {
		t.Run(tc.name, func(t *testing.T) {
			app := newIDPApp(t, base)
			app.t = t
			code := app.login("verifier-0123456789-0123456789-0123456789-abc", tc.fields)
			tok := app.exchange(code, "verifier-0123456789-0123456789-0123456789-abc")
			if tok.status != 200 || tok.Type != "DPoP" || tok.Access == "" || tok.Refresh == "" || tok.IDToken == "" {
				t.Fatalf("token: %+v", tok)
			}
			want := 200
			if tc.fields.Get("pod") == "bob" {
				want = 403 // bob's WebID is not granted alice's private doc
			}
			if r := app.read(doc, tok.Access); r.status != want {
				t.Fatalf("read: want %d, got %d %s", want, r.status, r.body)
			}
			if tc.fields.Get("pod") == "bob" {
				return
			}
			if r := app.read(doc, tok.Access); r.body != "alice only" {
				t.Fatalf("read: %d %s", r.status, r.body)
			}
			// Refresh: rotation.
			ref := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, &app.key, "")
			if ref.status != 200 || ref.Refresh == "" || ref.Refresh == tok.Refresh || ref.Type != "DPoP" {
				t.Fatalf("refresh: %+v", ref)
			}
			if r := app.read(doc, ref.Access); r.status != 200 {
				t.Fatalf("read with refreshed token: %d %s", r.status, r.body)
			}
			// Another key may not use the refresh token (public client).
			other := oidctest.NewKey(t)
			if r := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ref.Refresh}}, &other, ""); r.status != 400 || r.Error != "invalid_grant" {
				t.Fatalf("refresh with another DPoP key: %+v", r)
			}
			// The old refresh token is refused, and its reuse revokes the
			// family: the new refresh token and its access token too.
			if r := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, &app.key, ""); r.status != 400 || r.Error != "invalid_grant" {
				t.Fatalf("old refresh token: %+v", r)
			}
			if r := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ref.Refresh}}, &app.key, ""); r.status != 400 {
				t.Fatalf("refresh token of a revoked family: %+v", r)
			}
			wantRefused(t, "access token of a revoked family", app.read(doc, ref.Access), "revoked")

			// A new login; revocation of its access token works at once.
			code = app.login("verifier-2-0123456789-0123456789-0123456789-abc", tc.fields)
			tok = app.exchange(code, "verifier-2-0123456789-0123456789-0123456789-abc")
			if r := app.read(doc, tok.Access); r.status != 200 {
				t.Fatalf("read: %d %s", r.status, r.body)
			}
			if r := idpPost(t, base+"/.oidc/revoke", "application/x-www-form-urlencoded", url.Values{"token": {tok.Access}, "client_id": {app.clientID}}.Encode(), nil); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			wantRefused(t, "revoked access token", app.read(doc, tok.Access), "revoked")

			// Logout (end session) cuts the session's tokens.
			code = app.login("verifier-3-0123456789-0123456789-0123456789-abc", tc.fields)
			tok = app.exchange(code, "verifier-3-0123456789-0123456789-0123456789-abc")
			if r := app.read(doc, tok.Access); r.status != 200 {
				t.Fatalf("read: %d %s", r.status, r.body)
			}
			if r := app.get(base + "/.oidc/session/end?" + url.Values{"id_token_hint": {tok.IDToken}, "client_id": {app.clientID}}.Encode()); r.status != 200 || !strings.Contains(r.body, "console") {
				t.Fatalf("end session: %d %s", r.status, r.body)
			}
			wantRefused(t, "access token after logout", app.read(doc, tok.Access), "logged out")
		})
	}
	_ = s
}

// TestIDPRefusals: each refused request with its reason.
func TestIDPRefusals(t *testing.T) {
	_, base := idpServer(t)
	app := newIDPApp(t, base)
	owner := url.Values{"pod": {"alice"}, "key": {aliceKey}}
	const v = "verifier-0123456789-0123456789-0123456789-abc"

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		app.t = t
		code := app.login(v, owner)
		if r := app.exchange(code, v+"x"); r.status != 400 || r.Error != "invalid_grant" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("reused code", func(t *testing.T) {
		app.t = t
		code := app.login(v, owner)
		if r := app.exchange(code, v); r.status != 200 {
			t.Fatalf("first use: %+v", r)
		}
		if r := app.exchange(code, v); r.status != 400 || r.Error != "invalid_grant" {
			t.Fatalf("reuse: %+v", r)
		}
	})
	t.Run("no DPoP proof", func(t *testing.T) {
		app.t = t
		code := app.login(v, owner)
		r := app.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {v}}, nil, "")
		if r.status != 400 || r.Error != "invalid_dpop_proof" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("proof for another URL", func(t *testing.T) {
		app.t = t
		code := app.login(v, owner)
		r := app.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {v}}, &app.key, "https://elsewhere.example/token")
		if r.status != 400 || r.Error != "invalid_dpop_proof" || !strings.Contains(r.Desc, "htu") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("no PKCE", func(t *testing.T) {
		app.t = t
		q := url.Values{"client_id": {app.clientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid webid"}}
		r := app.get(base + "/.oidc/auth?" + q.Encode())
		loc := r.hdr.Get("Location")
		if r.status != 302 || !strings.Contains(loc, "error=invalid_request") || !strings.Contains(loc, "PKCE") {
			t.Fatalf("%d %s", r.status, loc)
		}
	})
	t.Run("redirect_uri not registered", func(t *testing.T) {
		app.t = t
		r := app.authorize(v, "http://127.0.0.1:9/other")
		if r.status == 200 && strings.Contains(r.body, "Log in") || r.status == 302 {
			t.Fatalf("unregistered redirect_uri got a login page or redirect: %d %s", r.status, r.body)
		}
		if !strings.Contains(r.body, "redirect_uri") {
			t.Fatalf("no reason: %d %s", r.status, r.body)
		}
	})
	t.Run("CSRF token missing or wrong", func(t *testing.T) {
		app.t = t
		page := app.authorize(v, rpRedirect)
		id, csrf := formFields(t, page.body)
		for _, bad := range []string{"", "x" + csrf} {
			r := app.postForm(base+"/.oidc/login", url.Values{"id": {id}, "csrf": {bad}, "pod": {"alice"}, "key": {aliceKey}})
			if r.status != 403 || !strings.Contains(r.body, "security token") {
				t.Fatalf("csrf %q: %d %s", bad, r.status, r.body)
			}
		}
		// Without the cookie (another browser), the form's token alone fails.
		r := idpPost(t, base+"/.oidc/login", "application/x-www-form-urlencoded", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"alice"}, "key": {aliceKey}}.Encode(), nil)
		if r.status != 403 {
			t.Fatalf("no cookie: %d %s", r.status, r.body)
		}
	})
	t.Run("wrong password and the rate limit", func(t *testing.T) {
		app.t = t
		page := app.authorize(v, rpRedirect)
		id, csrf := formFields(t, page.body)
		var last reply
		for i := range 12 {
			last = app.postForm(base+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"bob"}, "password": {"wrong password " + string(rune('a'+i))}})
			if i < 10 && (last.status != 401 || !strings.Contains(last.body, "wrong")) {
				t.Fatalf("attempt %d: %d %s", i, last.status, last.body)
			}
		}
		if last.status != 429 || last.hdr.Get("Retry-After") == "" {
			t.Fatalf("after 12 failures: %d %s", last.status, last.body)
		}
		// The right password is refused too while the pod is limited.
		r := app.postForm(base+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"bob"}, "password": {pod.DemoPassword}})
		if r.status != 429 {
			t.Fatalf("right password while limited: %d", r.status)
		}
		m := do(t, base, call{method: "GET", path: "/metrics"})
		if !strings.Contains(m.body, `podserver_idp_logins_total{result="rate_limited"}`) || !strings.Contains(m.body, `podserver_idp_logins_total{result="failed"} 10`) {
			t.Fatalf("metrics: %s", m.body)
		}
	})
	t.Run("Client ID Document with mismatching client_id", func(t *testing.T) {
		app.t = t
		docs := map[string]string{}
		srv := httptestServer(t, docs)
		docs["/good"] = `{"@context": ["https://www.w3.org/ns/solid/oidc-context.jsonld"], "client_id": "` + srv + `/good", "client_name": "Doc app", "redirect_uris": ["` + rpRedirect + `"]}`
		docs["/bad"] = `{"@context": ["https://www.w3.org/ns/solid/oidc-context.jsonld"], "client_id": "` + srv + `/other", "redirect_uris": ["` + rpRedirect + `"]}`
		good := *app
		good.clientID = srv + "/good"
		if r := good.authorize(v, rpRedirect); r.status != 200 || !strings.Contains(r.body, "Doc app") {
			t.Fatalf("good document: %d %s", r.status, r.body)
		}
		bad := *app
		bad.clientID = srv + "/bad"
		// op answers the authorize request with a generic "unable to
		// retrieve client" (the check's reason is logged).
		if r := bad.authorize(v, rpRedirect); r.status != 400 || strings.Contains(r.body, "Log in") || !strings.Contains(r.body, "client") {
			t.Fatalf("bad document: %d %s", r.status, r.body)
		}
	})
}

// httptestServer serves docs (path -> JSON-LD) on loopback.
func httptestServer(t *testing.T, docs map[string]string) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/ld+json")
		_, _ = io.WriteString(w, d)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestIDPClientCredentials: a client made with the owner API gets
// DPoP-bound tokens acting as the pod's WebID; deleting it refuses them
// at once.
func TestIDPClientCredentials(t *testing.T) {
	_, base := idpServer(t)
	doc := base + "/alice/private/doc"
	r := do(t, base, call{method: "POST", path: "/alice/settings/clients/", key: aliceKey, ctype: "application/json", body: `{"name": "backup script"}`})
	var cl struct {
		ID, URL, Name, Webid, Secret string
	}
	_ = json.Unmarshal([]byte(r.body), &cl)
	if r.status != 201 || cl.Secret == "" || cl.ID == "" || r.hdr.Get("Location") != cl.URL || !strings.HasSuffix(cl.Webid, "/alice/profile/card#me") {
		t.Fatalf("create client: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "POST", path: "/alice/settings/clients/", key: bobKey, ctype: "application/json", body: `{"name": "x"}`}); r.status != 403 && r.status != 401 {
		t.Fatalf("bob creates a client of alice's: %d", r.status)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/settings/clients/", key: aliceKey}); r.status != 200 || !strings.Contains(r.body, cl.ID) || strings.Contains(r.body, cl.Secret) {
		t.Fatalf("list clients: %d %s", r.status, r.body)
	}
	app := &idpApp{t: t, base: base, key: oidctest.NewKey(t)}
	cc := func(secret string) tokenReply {
		req := url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ID}, "client_secret": {secret}, "scope": {"webid"}}
		return app.token(req, &app.key, "")
	}
	if r := cc("wrong"); r.status != 401 && r.status != 400 {
		t.Fatalf("wrong secret: %+v", r)
	}
	tok := cc(cl.Secret)
	if tok.status != 200 || tok.Type != "DPoP" || tok.Access == "" {
		t.Fatalf("client credentials: %+v", tok)
	}
	if r := app.read(doc, tok.Access); r.status != 200 || r.body != "alice only" {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/settings/clients/", key: aliceKey}); !strings.Contains(r.body, "lastUsed") {
		t.Fatalf("lastUsed not set: %s", r.body)
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/settings/clients/" + cl.ID, key: aliceKey}); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantRefused(t, "token of a deleted client", app.read(doc, tok.Access), "deleted")
	if r := cc(cl.Secret); r.status == 200 {
		t.Fatalf("deleted client got a token: %+v", r)
	}
}

// TestIDPAppsAPI: the consent is listed and withdrawing it refuses the
// app's tokens at once.
func TestIDPAppsAPI(t *testing.T) {
	_, base := idpServer(t)
	app := newIDPApp(t, base)
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	tok := app.exchange(app.login(v, url.Values{"pod": {"alice"}, "key": {aliceKey}}), v)
	doc := base + "/alice/private/doc"
	if r := app.read(doc, tok.Access); r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	r := do(t, base, call{method: "GET", path: "/alice/settings/apps/", key: aliceKey})
	var list struct {
		Apps []struct{ ID, ClientID, Name string } `json:"apps"`
	}
	_ = json.Unmarshal([]byte(r.body), &list)
	if r.status != 200 || len(list.Apps) != 1 || list.Apps[0].ClientID != app.clientID || list.Apps[0].Name != "Test app" {
		t.Fatalf("apps: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "DELETE", path: "/alice/settings/apps/" + list.Apps[0].ID, key: aliceKey}); r.status != 204 {
		t.Fatalf("delete app: %d %s", r.status, r.body)
	}
	wantRefused(t, "token of a withdrawn app", app.read(doc, tok.Access), "withdrew")
	if r := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, &app.key, ""); r.status != 400 {
		t.Fatalf("refresh after withdrawal: %+v", r)
	}
}

// TestIDPTwoServers: a WebID of server B logs in at B and reads on A what
// A's ACL grants it; a WebID not granted is refused.
func TestIDPTwoServers(t *testing.T) {
	_, baseA := idpServer(t)
	_, baseB := idpServer(t)
	docA := baseA + "/alice/shared/doc"
	if r := do(t, baseA, call{method: "PUT", path: "/alice/shared/doc", key: aliceKey, ctype: "text/plain", body: "for B's bob"}); r.status != 201 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	bobB := baseB + "/bob/profile/card#me"
	acl := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [{"@id": "#read", "@type": "acl:Authorization",
		"acl:agent": {"@id": "` + bobB + `"}, "acl:accessTo": {"@id": "` + docA + `"}, "acl:mode": {"@id": "acl:Read"}}]}`
	if r := do(t, baseA, call{method: "PUT", path: "/alice/shared/doc.acl", key: aliceKey, ctype: "application/ld+json", body: acl}); r.status != 201 {
		t.Fatalf("PUT acl: %d %s", r.status, r.body)
	}
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	for _, tc := range []struct {
		pod  string
		want int
	}{{"bob", 200}, {"alice", 403}} {
		app := newIDPApp(t, baseB)
		tok := app.exchange(app.login(v, url.Values{"pod": {tc.pod}, "password": {pod.DemoPassword}}), v)
		if tok.status != 200 {
			t.Fatalf("token at B: %+v", tok)
		}
		if r := app.read(docA, tok.Access); r.status != tc.want {
			t.Fatalf("%s of B reads on A: want %d, got %d %s", tc.pod, tc.want, r.status, r.body)
		}
	}
}

// TestIDPLoginsAtOnce: simultaneous wrong logins cannot go past the limit:
// each attempt is counted in the transaction that checks the counter, so
// of 40 at once exactly LoginAttempts (10) are checked and the rest get
// 429 (all 40 used to be checked, each hashing a password).
func TestIDPLoginsAtOnce(t *testing.T) {
	_, base := idpServer(t)
	app := newIDPApp(t, base)
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	page := app.authorize(v, rpRedirect)
	id, csrf := formFields(t, page.body)
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := app.browser.PostForm(base+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"crm"}, "password": {fmt.Sprintf("wrong password %d", i)}})
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[401] != 10 || count[429] != n-10 {
		t.Errorf("answers to %d simultaneous wrong logins: %v, want 10 × 401 and %d × 429", n, count, n-10)
	}
	m := do(t, base, call{method: "GET", path: "/metrics"})
	if !strings.Contains(m.body, `podserver_idp_logins_total{result="failed"} 10`) {
		t.Errorf("failed logins counted: %s", metricValue(m.body, `podserver_idp_logins_total{result="failed"}`))
	}
}
