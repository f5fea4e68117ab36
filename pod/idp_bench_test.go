package pod_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/pod"
	"podserver/solidoidc/oidctest"
)

// benchBase is the base URL of the benchmarks' servers, served in
// process through Handler (as BenchmarkGetSolidOIDC does).
const benchBase = "http://bench.localhost"

// benchIDP is a server of the benchmarks with its handler.
type benchIDP struct {
	b *testing.B
	h http.Handler
}

func newBenchIDP(b *testing.B, inMemory bool) *benchIDP {
	opts := pod.Options{BaseURL: benchBase, InMemory: inMemory}
	if !inMemory {
		opts.DataDir = b.TempDir()
	}
	s, err := pod.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		b.Fatal(err)
	}
	return &benchIDP{b: b, h: s.Handler()}
}

// do serves req in process.
func (x *benchIDP) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	x.h.ServeHTTP(w, req)
	return w
}

func (x *benchIDP) req(method, path, ctype, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, benchBase+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return x.do(req)
}

// token posts form to the token endpoint with a fresh proof by key.
func (x *benchIDP) token(key jose.JSONWebKey, form url.Values) (string, *httptest.ResponseRecorder) {
	proof := oidctest.Proof(x.b, key, "POST", benchBase+"/.oidc/token", "", time.Now(), oidctest.Claims{"ath": nil})
	w := x.req("POST", "/.oidc/token", "application/x-www-form-urlencoded", form.Encode(), map[string]string{"DPoP": proof})
	var tr struct {
		Access string `json:"access_token"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &tr)
	return tr.Access, w
}

// ccClient makes a client-credentials client of alice's.
func (x *benchIDP) ccClient() url.Values {
	w := x.req("POST", "/alice/settings/clients/", "application/json", `{"name": "bench"}`, map[string]string{"x-api-key": aliceKey})
	var cl struct{ ID, Secret string }
	if err := json.Unmarshal(w.Body.Bytes(), &cl); err != nil || w.Code != 201 {
		x.b.Fatalf("create client: %d %s", w.Code, w.Body)
	}
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ID}, "client_secret": {cl.Secret}, "scope": {"webid"}}
}

// BenchmarkGetOwnToken reads a 100-byte resource of alice's through the
// full stack, as BenchmarkGetSolidOIDC does, with alice's owner key and
// with a DPoP-bound token of this server's own identity provider (client
// credentials): the token verifies with the provider's keys read from the
// store, and CheckToken reads its record, grant and cuts on every
// request; the proof's jti is recorded as for any token. Making proofs is
// not timed.
func BenchmarkGetOwnToken(b *testing.B) {
	for _, st := range []string{"disk", "mem"} {
		b.Run(st, func(b *testing.B) {
			x := newBenchIDP(b, st == "mem")
			if w := x.req("PUT", "/alice/notes/small", "text/plain", strings.Repeat("x", 100), map[string]string{"x-api-key": aliceKey}); w.Code/100 != 2 {
				b.Fatalf("PUT: %d %s", w.Code, w.Body)
			}
			key := oidctest.NewKey(b)
			tok, w := x.token(key, x.ccClient())
			if tok == "" {
				b.Fatalf("token: %d %s", w.Code, w.Body)
			}
			u := benchBase + "/alice/notes/small"
			b.Run("apikey", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if w := x.req("GET", "/alice/notes/small", "", "", map[string]string{"x-api-key": aliceKey}); w.Code != 200 {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
			b.Run("dpop-own", func(b *testing.B) {
				ps := make([]string, b.N)
				for i := range ps {
					ps[i] = oidctest.Proof(b, key, "GET", u, tok, time.Now(), nil)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if w := x.do(oidctest.Request("GET", u, tok, ps[i])); w.Code != 200 {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// BenchmarkIDPToken measures the token endpoint on an on-disk store, one
// request at a time, in process: "client-credentials" issues a token to a
// client of alice's (secret check, DPoP proof check and jti write, token
// record and client lastUsed in one transaction, ES256 signature);
// "authorization-code" exchanges a code (the login before it, with a
// remembered consent, is not timed) for an access, refresh and ID token.
func BenchmarkIDPToken(b *testing.B) {
	b.Run("client-credentials", func(b *testing.B) {
		x := newBenchIDP(b, false)
		key := oidctest.NewKey(b)
		form := x.ccClient()
		b.ReportAllocs()
		for b.Loop() {
			if tok, w := x.token(key, form); tok == "" {
				b.Fatalf("token: %d %s", w.Code, w.Body)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("authorization-code", func(b *testing.B) {
		x := newBenchIDP(b, false)
		key := oidctest.NewKey(b)
		w := x.req("POST", "/.oidc/reg", "application/json", `{"redirect_uris": ["`+rpRedirect+`"], "client_name": "Bench app",
			"token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}`, nil)
		var reg struct {
			ClientID string `json:"client_id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &reg); err != nil || w.Code != 201 {
			b.Fatalf("register: %d %s", w.Code, w.Body)
		}
		const verifier = "verifier-0123456789-0123456789-0123456789-abc"
		code := func() string {
			sum := sha256.Sum256([]byte(verifier))
			q := url.Values{"client_id": {reg.ClientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
				"scope": {"openid webid offline_access"}, "state": {"s"},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
			w := x.req("GET", "/.oidc/auth?"+q.Encode(), "", "", nil)
			loc, _ := url.Parse(w.Header().Get("Location"))
			if w.Code != 302 || loc == nil {
				b.Fatalf("authorize: %d %s", w.Code, w.Body)
			}
			next := loc.RequestURI()
			var cookie string
			for range 3 {
				w = x.req("GET", next, "", "", map[string]string{"Cookie": cookie})
				if c := w.Result().Cookies(); len(c) > 0 {
					cookie = c[0].Name + "=" + c[0].Value
				}
				id, csrf := hiddenID.FindStringSubmatch(w.Body.String()), hiddenCSRF.FindStringSubmatch(w.Body.String())
				if w.Code != 200 || id == nil || csrf == nil {
					b.Fatalf("page %s: %d %s", next, w.Code, w.Body)
				}
				form := url.Values{"id": {id[1]}, "csrf": {csrf[1]}, "pod": {"alice"}, "key": {aliceKey}, "decision": {"allow"}}
				w = x.req("POST", strings.SplitN(next, "?", 2)[0], "application/x-www-form-urlencoded", form.Encode(), map[string]string{"Cookie": cookie})
				loc, _ := url.Parse(w.Header().Get("Location"))
				if loc != nil && loc.Query().Get("code") != "" {
					return loc.Query().Get("code")
				}
				if w.Code != 303 || loc == nil {
					b.Fatalf("form %s: %d %s", next, w.Code, w.Body)
				}
				next = loc.RequestURI()
			}
			b.Fatal("no code after login and consent")
			return ""
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			c := code()
			b.StartTimer()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {rpRedirect},
				"code_verifier": {verifier}, "client_id": {reg.ClientID}}
			if tok, w := x.token(key, form); tok == "" {
				b.Fatalf("exchange: %d %s", w.Code, w.Body)
			}
		}
	})
}
