package pod_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
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
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {a.clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid webid offline_access"}, "state": {"st8"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	return a.get(a.base + "/.oidc/auth?" + q.Encode())
}

// login runs authorize, the login form (fields) and the consent, and
// returns the code.
func (a *idpApp) login(verifier string, fields url.Values) string {
	a.t.Helper()
	page := a.authorize(verifier, rpRedirect)
	if page.status != 200 || !strings.Contains(page.body, "Test app") {
		a.t.Fatalf("login page: %d %s", page.status, page.body)
	}
	if csp := page.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9") || page.hdr.Get("X-Frame-Options") != "DENY" {
		a.t.Fatalf("login page headers: %v", page.hdr)
	}
	id, csrf := formFields(a.t, page.body)
	fields.Set("id", id)
	fields.Set("csrf", csrf)
	consent := a.postForm(a.base+"/.oidc/login", fields)
	if consent.status != 200 || !strings.Contains(consent.body, "Test app") || !strings.Contains(consent.body, "/profile/card#me") {
		a.t.Fatalf("consent page: %d %s", consent.status, consent.body)
	}
	id, csrf = formFields(a.t, consent.body)
	done := a.postForm(a.base+"/.oidc/consent", url.Values{"id": {id}, "csrf": {csrf}, "decision": {"allow"}})
	loc, _ := url.Parse(done.hdr.Get("Location"))
	if done.status != 302 || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st8" {
		a.t.Fatalf("consent answer: %d %v %s", done.status, done.hdr, done.body)
	}
	return loc.Query().Get("code")
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
