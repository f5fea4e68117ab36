package pod_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/solidoidc/oidctest"
)

// TestIDPCodeReplayRevokes: a code exchanged a second time is refused,
// and the access and refresh tokens issued from its first exchange stop
// working (RFC 6749 section 4.1.2, RFC 9700).
func TestIDPCodeReplayRevokes(t *testing.T) {
	_, base := idpServer(t)
	doc := base + "/alice/private/doc"
	app := newIDPApp(t, base)
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	code := app.login(v, url.Values{"pod": {"alice"}, "key": {aliceKey}})
	tok := app.exchange(code, v)
	if tok.status != 200 || tok.Access == "" || tok.Refresh == "" {
		t.Fatalf("first exchange: %+v", tok)
	}
	if r := app.read(doc, tok.Access); r.status != 200 {
		t.Fatalf("read before the replay: %d %s", r.status, r.body)
	}
	if r := app.exchange(code, v); r.status != 400 || r.Error != "invalid_grant" || r.Access != "" {
		t.Fatalf("second exchange: %+v", r)
	}
	wantRefused(t, "access token of a replayed code", app.read(doc, tok.Access), "revoked")
	m := do(t, base, call{method: "GET", path: "/metrics"})
	if !strings.Contains(m.body, `podserver_oidc_token_failures_total{reason="token_revoked"}`) {
		t.Fatalf("no token_revoked refusal in the metrics")
	}
	if r := app.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}, &app.key, ""); r.status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("refresh token of a replayed code: %+v", r)
	}
	// Another login of the same app is not affected.
	code = app.login(v, url.Values{"pod": {"alice"}, "key": {aliceKey}})
	if tok := app.exchange(code, v); tok.status != 200 || app.read(doc, tok.Access).status != 200 {
		t.Fatalf("a new login after the replay: %+v", tok)
	}
}

// TestIDPConsentRemembered: an app the owner allowed is not asked again
// for the same or fewer scopes (the login page still authenticates); more
// scopes, another app, or a withdrawn consent ask again.
func TestIDPConsentRemembered(t *testing.T) {
	_, base := idpServer(t)
	doc := base + "/alice/private/doc"
	app := newIDPApp(t, base)
	owner := func() url.Values { return url.Values{"pod": {"alice"}, "key": {aliceKey}} }
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	step := func(what, scope string, wantAsked bool) tokenReply {
		t.Helper()
		code, asked := app.loginScopes(v, owner(), scope)
		if asked != wantAsked {
			t.Fatalf("%s: consent asked %v, want %v", what, asked, wantAsked)
		}
		tok := app.exchange(code, v)
		if tok.status != 200 {
			t.Fatalf("%s: token %+v", what, tok)
		}
		if r := app.read(doc, tok.Access); r.status != 200 {
			t.Fatalf("%s: read %d %s", what, r.status, r.body)
		}
		return tok
	}
	step("first login", "openid webid", true)
	step("same scopes", "openid webid", false)
	step("fewer scopes", "openid", false)
	step("more scopes", "openid webid offline_access", true)
	step("the larger set again", "webid openid offline_access", false)

	// The login page still authenticates: a wrong key gets no code.
	page := app.authorizeScope(v, rpRedirect, "openid webid")
	id, csrf := formFields(t, page.body)
	if r := app.postForm(base+"/.oidc/login", url.Values{"id": {id}, "csrf": {csrf}, "pod": {"alice"}, "key": {bobKey}}); r.status != 401 || r.hdr.Get("Location") != "" {
		t.Fatalf("wrong key with a remembered consent: %d %v", r.status, r.hdr)
	}
	// Another pod's owner is asked for their own consent.
	if _, asked := app.loginScopes(v, url.Values{"pod": {"bob"}, "password": {"demo-password-public"}}, "openid webid"); !asked {
		t.Fatal("bob was not asked: alice's consent was used for bob's WebID")
	}
	// Another app is asked.
	other := newIDPApp(t, base)
	if _, asked := other.loginScopes(v, owner(), "openid webid"); !asked {
		t.Fatal("another app was not asked")
	}

	r := do(t, base, call{method: "GET", path: "/alice/settings/apps/", key: aliceKey})
	var list struct {
		Apps []struct{ ID, ClientID string } `json:"apps"`
	}
	_ = json.Unmarshal([]byte(r.body), &list)
	withdrawn := false
	for _, a := range list.Apps {
		if a.ClientID == app.clientID {
			if r := do(t, base, call{method: "DELETE", path: "/alice/settings/apps/" + a.ID, key: aliceKey}); r.status != 204 {
				t.Fatalf("withdraw: %d %s", r.status, r.body)
			}
			withdrawn = true
		}
	}
	if !withdrawn {
		t.Fatalf("the app is not listed: %s", r.body)
	}
	step("after the withdrawal", "openid webid", true)
	step("allowed again", "openid webid", false)
}

// userinfo calls the userinfo endpoint with scheme and token, and proof
// as the DPoP header ("" for none).
func userinfo(t *testing.T, base, scheme, token, proof string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/.oidc/userinfo", nil)
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

// TestIDPUserinfoChecksDPoP: the userinfo endpoint checks the token's
// DPoP proof as the resource server does (htm, htu, ath, jti, the key's
// binding) and its revocation, and refuses Bearer.
func TestIDPUserinfoChecksDPoP(t *testing.T) {
	_, base := idpServer(t)
	app := newIDPApp(t, base)
	const v = "verifier-0123456789-0123456789-0123456789-abc"
	tok := app.exchange(app.login(v, url.Values{"pod": {"alice"}, "key": {aliceKey}}), v)
	if tok.status != 200 {
		t.Fatalf("token: %+v", tok)
	}
	u := base + "/.oidc/userinfo"
	proof := func(key jose.JSONWebKey, method, htu, token string, extra oidctest.Claims) string {
		return oidctest.Proof(t, key, method, htu, token, time.Now(), extra)
	}
	good := proof(app.key, "GET", u, tok.Access, nil)
	r := userinfo(t, base, "DPoP", tok.Access, good)
	if r.status != 200 || !strings.Contains(r.body, `"webid":"`+base+`/alice/profile/card#me"`) {
		t.Fatalf("userinfo with a good proof: %d %s", r.status, r.body)
	}
	refused := []struct {
		name, scheme, proof, reason string
	}{
		{"Bearer", "Bearer", "", "DPoP-bound"},
		{"Bearer with a proof", "Bearer", proof(app.key, "GET", u, tok.Access, nil), "DPoP-bound"},
		{"no proof", "DPoP", "", "proof"},
		{"replayed proof", "DPoP", good, "used before"},
		{"wrong htm", "DPoP", proof(app.key, "POST", u, tok.Access, nil), "htm"},
		{"wrong htu", "DPoP", proof(app.key, "GET", base+"/alice/", tok.Access, nil), "htu"},
		{"wrong ath", "DPoP", proof(app.key, "GET", u, "another token", nil), "ath"},
		{"another key", "DPoP", proof(oidctest.NewKey(t), "GET", u, tok.Access, nil), "bound"},
	}
	for _, tc := range refused {
		r := userinfo(t, base, tc.scheme, tok.Access, tc.proof)
		if r.status != 401 && r.status != 400 || strings.Contains(r.body, "webid") || !strings.Contains(r.body, tc.reason) ||
			!strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "DPoP ") {
			t.Errorf("%s: want a refusal naming %q, got %d %s %q", tc.name, tc.reason, r.status, r.body, r.hdr.Get("WWW-Authenticate"))
		}
	}
	// Revoked: refused at once.
	if r := idpPost(t, base+"/.oidc/revoke", "application/x-www-form-urlencoded", url.Values{"token": {tok.Access}, "client_id": {app.clientID}}.Encode(), nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := userinfo(t, base, "DPoP", tok.Access, proof(app.key, "GET", u, tok.Access, nil)); r.status != 401 || !strings.Contains(r.body, "revoked") {
		t.Fatalf("revoked token: %d %s", r.status, r.body)
	}
}
