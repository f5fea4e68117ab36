package solidoidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/netguard"
	"podserver/replay"
	"podserver/solidoidc"
	"podserver/solidoidc/oidctest"
	"podserver/store"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// profiles is a WebID -> issuers table standing in for profile documents.
type profiles struct {
	mu       sync.Mutex
	m        map[string][]string
	refreshs int
}

func (p *profiles) set(webID string, iss ...string) {
	p.mu.Lock()
	p.m[webID] = iss
	p.mu.Unlock()
}

func (p *profiles) issuers(_ context.Context, webID string, refresh bool) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if refresh {
		p.refreshs++
	}
	l, ok := p.m[webID]
	if !ok {
		return nil, errors.New("no such profile")
	}
	return slices.Clone(l), nil
}

type fixture struct {
	iss      *oidctest.Issuer
	client   jose.JSONWebKey
	clk      *clock
	profiles *profiles
	st       store.Store
	v        *solidoidc.Verifier
	webID    string
}

const resURL = "http://127.0.0.1:8080/alice/notes/x"

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{
		iss:      oidctest.NewIssuer(t),
		client:   oidctest.NewKey(t),
		clk:      &clock{t: time.Now().Truncate(time.Second)},
		profiles: &profiles{m: map[string][]string{}},
		st:       st,
		webID:    "https://bob.example/profile/card#me",
	}
	f.profiles.set(f.webID, f.iss.URL)
	f.v = f.verifier(t)
	return f
}

// verifier returns a new Verifier over the fixture's store and issuer
// table, as another node or a restarted server would have.
func (f *fixture) verifier(t testing.TB) *solidoidc.Verifier {
	t.Helper()
	client := netguard.NewClient(netguard.Policy{AllowPrivate: true}, netguard.ClientOptions{MaxRedirects: -1})
	v, err := solidoidc.New(solidoidc.Config{
		Fetcher: netguard.NewFetcher(client, netguard.FetchLimits{HostMaxFailures: -1}),
		Nonces:  replay.New(f.st),
		Issuers: f.profiles.issuers,
		Now:     f.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) token(t *testing.T, extra oidctest.Claims) string {
	return f.iss.Token(t, f.clk.Now(), f.webID, f.client, extra)
}

func (f *fixture) proof(t *testing.T, token string, extra oidctest.Claims) string {
	return oidctest.Proof(t, f.client, http.MethodGet, resURL, token, f.clk.Now(), extra)
}

func (f *fixture) verify(r *http.Request) (*solidoidc.Identity, error) {
	return f.v.Verify(context.Background(), r, resURL)
}

// wantReason checks that err is an *Error with reason want and a code.
func wantReason(t *testing.T, err error, want solidoidc.Reason) {
	t.Helper()
	var e *solidoidc.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a refusal for %s", err, want)
	}
	if e.Reason != want || e.Code == "" || e.Description == "" {
		t.Fatalf("got reason %s (%s: %s), want %s", e.Reason, e.Code, e.Description, want)
	}
}

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, nil)
	id, err := f.verify(oidctest.Request("GET", resURL+"?q=1", tok, f.proof(t, tok, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if id.WebID != f.webID || id.ClientID != "https://app.example/id" || id.Issuer != f.iss.URL || id.JKT != oidctest.Thumbprint(t, f.client) {
		t.Fatalf("identity %+v", id)
	}
	// The query of the request and of htu are ignored; the scheme and
	// host are compared without case and default port.
	tok = f.token(t, nil)
	p := oidctest.Proof(t, f.client, "GET", "HTTP://127.0.0.1:8080/alice/notes/x?other#frag", tok, f.clk.Now(), nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, p)); err != nil {
		t.Fatalf("normalized htu: %v", err)
	}
	// The trailing slash of the issuer may differ between token and
	// profile.
	f.profiles.set(f.webID, strings.TrimSuffix(f.iss.URL, "/"))
	tok = f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil {
		t.Fatalf("issuer without trailing slash in profile: %v", err)
	}
	// A proof without ath is accepted (the Inrupt libraries send none);
	// one with another token's ath is refused (TestVerifyRefuses).
	tok = f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, oidctest.Claims{"ath": nil}))); err != nil {
		t.Fatalf("proof without ath: %v", err)
	}
}

// TestVerifyRefuses covers every check with a request that fails it and
// no other.
func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	other := oidctest.NewKey(t)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hsKey := jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), Algorithm: string(jose.HS256)}
	now := f.clk.Now()

	type req struct{ auth, proof string }
	cases := []struct {
		name string
		make func(*testing.T) req
		want solidoidc.Reason
	}{
		{"bearer", func(t *testing.T) req { return req{"Bearer " + f.token(t, nil), ""} }, solidoidc.ReasonBearer},
		{"no proof", func(t *testing.T) req { return req{"DPoP " + f.token(t, nil), ""} }, solidoidc.ReasonMalformed},
		{"empty token", func(t *testing.T) req { return req{"DPoP ", "x"} }, solidoidc.ReasonMalformed},
		{"forged token (other key, same kid)", func(t *testing.T) req {
			k := oidctest.NewKey(t)
			k.KeyID = f.iss.SigningKey().KeyID
			c := oidctest.Claims{"iss": f.iss.URL, "aud": "solid", "webid": f.webID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "cnf": map[string]string{"jkt": oidctest.Thumbprint(t, f.client)}}
			tok := oidctest.Sign(t, k, "at+jwt", nil, c)
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenSignature},
		{"expired token", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-2 * time.Minute).Unix()})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenExpired},
		{"token without exp", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"exp": nil})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenExpired},
		{"token issued in the future", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"iat": now.Add(5 * time.Minute).Unix()})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenExpired},
		{"wrong audience", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"aud": []string{"https://app.example/id"}})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenAudience},
		{"no webid", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"webid": nil})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenWebID},
		{"http webid on a public host", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"webid": "http://bob.example/profile/card#me"})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenWebID},
		{"not bound (no cnf)", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"cnf": nil})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenBinding},
		{"bound to another key", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"cnf": map[string]string{"jkt": oidctest.Thumbprint(t, other)}})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenBinding},
		{"proof by another key than the token's", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, oidctest.Proof(t, other, "GET", resURL, tok, now, nil)}
		}, solidoidc.ReasonTokenBinding},
		{"http issuer on a public host", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"iss": "http://idp.example/"})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenIssuer},
		{"no issuer", func(t *testing.T) req {
			tok := f.token(t, oidctest.Claims{"iss": nil})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenIssuer},
		{"issuer not in profile", func(t *testing.T) req {
			tok := f.iss.Token(t, now, "https://carol.example/card#me", f.client, nil)
			f.profiles.set("https://carol.example/card#me", "https://other-idp.example/")
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonIssuerNotListed},
		{"profile unreadable", func(t *testing.T) req {
			tok := f.iss.Token(t, now, "https://nobody.example/card#me", f.client, nil)
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonProfile},
		{"token alg none", func(t *testing.T) req {
			tok := oidctest.Unsigned(map[string]any{"alg": "none", "typ": "at+jwt"}, map[string]any{"iss": f.iss.URL, "aud": "solid", "webid": f.webID, "exp": now.Add(time.Minute).Unix(), "cnf": map[string]string{"jkt": oidctest.Thumbprint(t, f.client)}})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenAlg},
		{"token HS256", func(t *testing.T) req {
			tok := oidctest.Sign(t, hsKey, "at+jwt", nil, oidctest.Claims{"iss": f.iss.URL, "aud": "solid", "webid": f.webID, "exp": now.Add(time.Minute).Unix(), "cnf": map[string]string{"jkt": oidctest.Thumbprint(t, f.client)}})
			return req{"DPoP " + tok, f.proof(t, tok, nil)}
		}, solidoidc.ReasonTokenAlg},
		{"token not a JWT", func(t *testing.T) req { return req{"DPoP not-a-jwt", f.proof(t, "not-a-jwt", nil)} }, solidoidc.ReasonTokenMalformed},
		{"proof alg none", func(t *testing.T) req {
			tok := f.token(t, nil)
			pub := f.client.Public()
			p := oidctest.Unsigned(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": pub}, map[string]any{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "n1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofAlg},
		{"proof HS256", func(t *testing.T) req {
			tok := f.token(t, nil)
			p := oidctest.Sign(t, hsKey, "dpop+jwt", nil, oidctest.Claims{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "h1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofAlg},
		{"proof signed by another key than its jwk", func(t *testing.T) req {
			tok := f.token(t, nil)
			p := oidctest.Sign(t, jose.JSONWebKey{Key: ecPriv, Algorithm: "ES256"}, "dpop+jwt", map[jose.HeaderKey]any{"jwk": f.client.Public()}, oidctest.Claims{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "s1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofSignature},
		{"proof with a private jwk", func(t *testing.T) req {
			tok := f.token(t, nil)
			p := oidctest.Sign(t, jose.JSONWebKey{Key: rsaPriv, Algorithm: "RS256"}, "dpop+jwt", map[jose.HeaderKey]any{"jwk": jose.JSONWebKey{Key: rsaPriv}}, oidctest.Claims{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "p1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofMalformed},
		{"proof without jwk", func(t *testing.T) req {
			tok := f.token(t, nil)
			p := oidctest.Sign(t, f.client, "dpop+jwt", nil, oidctest.Claims{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "j1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofMalformed},
		{"proof typ JWT", func(t *testing.T) req {
			tok := f.token(t, nil)
			p := oidctest.Sign(t, f.client, "JWT", map[jose.HeaderKey]any{"jwk": f.client.Public()}, oidctest.Claims{"htm": "GET", "htu": resURL, "iat": now.Unix(), "jti": "t1", "ath": oidctest.ATH(tok)})
			return req{"DPoP " + tok, p}
		}, solidoidc.ReasonProofMalformed},
		{"proof without jti", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"jti": nil})}
		}, solidoidc.ReasonProofMalformed},
		{"wrong htm", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"htm": "POST"})}
		}, solidoidc.ReasonProofMethod},
		{"wrong htu path", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"htu": "http://127.0.0.1:8080/alice/notes/y"})}
		}, solidoidc.ReasonProofURL},
		{"wrong htu host (proof made for another server)", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"htu": "http://evil.example:8080/alice/notes/x"})}
		}, solidoidc.ReasonProofURL},
		{"wrong htu scheme", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"htu": "https://127.0.0.1:8080/alice/notes/x"})}
		}, solidoidc.ReasonProofURL},
		{"proof too old", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"iat": now.Add(-3 * time.Minute).Unix()})}
		}, solidoidc.ReasonProofTime},
		{"proof from the future", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"iat": now.Add(2 * time.Minute).Unix()})}
		}, solidoidc.ReasonProofTime},
		{"proof without iat", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, tok, oidctest.Claims{"iat": nil})}
		}, solidoidc.ReasonProofTime},
		{"ath of another token", func(t *testing.T) req {
			tok := f.token(t, nil)
			return req{"DPoP " + tok, f.proof(t, f.token(t, nil), nil)}
		}, solidoidc.ReasonProofATH},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq := c.make(t)
			r, _ := http.NewRequest("GET", resURL, nil)
			r.Header.Set("Authorization", rq.auth)
			if rq.proof != "" {
				r.Header.Set("DPoP", rq.proof)
			}
			id, err := f.verify(r)
			if id != nil {
				t.Fatalf("accepted: %+v", id)
			}
			wantReason(t, err, c.want)
			if _, tok, _ := strings.Cut(rq.auth, " "); len(tok) > 10 && strings.Contains(err.Error(), tok) {
				t.Fatalf("the error holds the token: %v", err)
			}
		})
	}
	t.Run("two proofs", func(t *testing.T) {
		tok := f.token(t, nil)
		r := oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))
		r.Header.Add("DPoP", f.proof(t, tok, nil))
		_, err := f.verify(r)
		wantReason(t, err, solidoidc.ReasonMalformed)
	})
}

// TestReplay: a proof is accepted once; its replay is refused, by this
// Verifier and by another over the same store (another node, or this one
// restarted), and a new proof for the same token is accepted.
func TestReplay(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, nil)
	p := f.proof(t, tok, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, p)); err != nil {
		t.Fatal(err)
	}
	_, err := f.verify(oidctest.Request("GET", resURL, tok, p))
	wantReason(t, err, solidoidc.ReasonProofReplay)
	v2 := f.verifier(t)
	_, err = v2.Verify(context.Background(), oidctest.Request("GET", resURL, tok, p), resURL)
	wantReason(t, err, solidoidc.ReasonProofReplay)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil {
		t.Fatalf("new proof: %v", err)
	}
	// A refused request does not record its jti: the same proof with a
	// valid token afterwards is judged on its own.
	bad := f.token(t, oidctest.Claims{"aud": "other"})
	p2 := oidctest.Proof(t, f.client, "GET", resURL, bad, f.clk.Now(), oidctest.Claims{"jti": "fixed"})
	_, err = f.verify(oidctest.Request("GET", resURL, bad, p2))
	wantReason(t, err, solidoidc.ReasonTokenAudience)
	if n, _ := replay.New(f.st).Len(context.Background()); n != 2 {
		t.Fatalf("%d nonces stored, want the 2 accepted proofs", n)
	}
}

// TestKeyRotation: a token signed by a key the cached JWKS lacks makes the
// Verifier refetch it, at most once per MinRefresh.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil {
		t.Fatal(err)
	}
	tok = f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil || f.iss.JWKSFetches() != 1 {
		t.Fatalf("cached keys: %v, %d fetches", err, f.iss.JWKSFetches())
	}
	f.iss.Rotate(t)
	tok = f.token(t, nil)
	_, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
	wantReason(t, err, solidoidc.ReasonTokenSignature) // fetched < MinRefresh ago
	f.clk.advance(solidoidc.DefaultMinRefresh)
	tok = f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil || f.iss.JWKSFetches() != 2 {
		t.Fatalf("after rotation: %v, %d fetches", err, f.iss.JWKSFetches())
	}
}

// TestDiscoveryMismatch: discovery naming another issuer than the token's
// iss fails, and the failure is remembered for KeysErrorTTL.
func TestDiscoveryMismatch(t *testing.T) {
	f := newFixture(t)
	f.iss.SetDiscoveryIssuer("https://impostor.example/")
	tok := f.token(t, nil)
	_, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
	wantReason(t, err, solidoidc.ReasonIssuerKeys)
	f.iss.SetDiscoveryIssuer("")
	tok = f.token(t, nil)
	_, err = f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
	wantReason(t, err, solidoidc.ReasonIssuerKeys) // remembered
	f.clk.advance(solidoidc.DefaultKeysErrorTTL)
	tok = f.token(t, nil)
	if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil {
		t.Fatal(err)
	}
}

// TestProfileRefresh: an issuer missing from the cached profile makes the
// Verifier ask for a fresh one before refusing.
func TestProfileRefresh(t *testing.T) {
	f := newFixture(t)
	f.profiles.set(f.webID, "https://old-idp.example/")
	tok := f.token(t, nil)
	_, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
	wantReason(t, err, solidoidc.ReasonIssuerNotListed)
	if f.profiles.refreshs != 1 {
		t.Fatalf("%d refreshes, want 1", f.profiles.refreshs)
	}
}

func TestChallenge(t *testing.T) {
	err := &solidoidc.Error{Code: solidoidc.CodeInvalidToken, Reason: solidoidc.ReasonTokenExpired, Description: `the "token" expired\n`}
	got := solidoidc.Challenge(err, "https://idp.example/")
	want := `DPoP algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA", error="invalid_token", error_description="the token expiredn", as_uri="https://idp.example/"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := solidoidc.Challenge(nil, ""); got != `DPoP algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA"` {
		t.Fatal(got)
	}
}

func TestCheckSecureURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://idp.example/":          true,
		"http://localhost:3000/":        true,
		"http://app.localhost/":         true,
		"http://127.0.0.1:8080/":        true,
		"http://[::1]:8080/":            true,
		"http://idp.example/":           false,
		"http://10.0.0.1/":              false,
		"ftp://idp.example/":            false,
		"https://user:pw@idp.example/":  false,
		"https:///nohost":               false,
		"http://localhost.evil.example": false,
	} {
		if err := solidoidc.CheckSecureURL(u); (err == nil) != ok {
			t.Errorf("%s: %v, want ok %v", u, err, ok)
		}
	}
}

// TestKeysStaleIfError: a failed refetch of an issuer's keys, forced by a
// token with an unknown kid or at expiry, keeps the good keys for
// KeysMaxStale; only a successful fetch replaces them.
func TestKeysStaleIfError(t *testing.T) {
	f := newFixture(t)
	good := func(when string) {
		t.Helper()
		tok := f.token(t, nil)
		if _, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil))); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	good("first")
	f.iss.SetDown(true)
	f.clk.advance(solidoidc.DefaultMinRefresh)
	// Anyone can name the issuer with a kid it does not have.
	forger := oidctest.NewKey(t)
	forger.KeyID = "unknown"
	forged := oidctest.Sign(t, forger, "at+jwt", nil, f.iss.TokenClaims(t, f.clk.Now(), f.webID, f.client, nil))
	_, err := f.verify(oidctest.Request("GET", resURL, forged, f.proof(t, forged, nil)))
	wantReason(t, err, solidoidc.ReasonTokenSignature)
	if f.iss.JWKSFetches() != 1 {
		t.Fatalf("%d JWKS fetches, want 1 (the forced one found discovery down)", f.iss.JWKSFetches())
	}
	good("after a failed forced refetch")
	f.clk.advance(solidoidc.DefaultKeysTTL)
	good("expired, refetch failed")
	f.iss.SetDown(false)
	f.clk.advance(solidoidc.DefaultKeysErrorTTL)
	good("refetched")
	f.iss.SetDown(true)
	f.clk.advance(solidoidc.DefaultKeysMaxStale)
	tok := f.token(t, nil)
	_, err = f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
	wantReason(t, err, solidoidc.ReasonIssuerKeys)
}

// TestManyKeys: of a JWKS listing many keys, the first
// solidoidc.MaxKeysPerIssuer are kept, a kid names one key, and a token
// without a kid is checked with at most two keys, so a hostile issuer's
// big JWKS cannot make each token cost hundreds of signature checks.
func TestManyKeys(t *testing.T) {
	decoys := make([]jose.JSONWebKey, solidoidc.MaxKeysPerIssuer+5)
	for i := range decoys {
		decoys[i] = oidctest.NewKey(t)
		decoys[i].KeyID = fmt.Sprintf("d%d", i)
	}
	dup := oidctest.NewKey(t)
	dup.KeyID = "d0"
	tests := []struct {
		name   string
		decoys []jose.JSONWebKey // listed before the issuer's key
		signer jose.JSONWebKey   // signs the token
		ok     bool
	}{
		{"kid, last kept key", decoys[:solidoidc.MaxKeysPerIssuer-1], jose.JSONWebKey{}, true},
		{"kid, beyond the kept keys", decoys[:solidoidc.MaxKeysPerIssuer], jose.JSONWebKey{}, false},
		{"kid named twice, the first counts", decoys[:3], dup, false},
		{"no kid, second key", decoys[:1], jose.JSONWebKey{}, true},
		{"no kid, third key", decoys[:2], jose.JSONWebKey{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.iss.SetDecoys(tt.decoys)
			key := f.iss.SigningKey()
			switch {
			case tt.signer.Key != nil:
				key = tt.signer
				f.iss.SetDecoys(append(slices.Clone(tt.decoys), tt.signer))
			case strings.HasPrefix(tt.name, "no kid"):
				key.KeyID = ""
			}
			tok := oidctest.Sign(t, key, "at+jwt", nil, f.iss.TokenClaims(t, f.clk.Now(), f.webID, f.client, nil))
			_, err := f.verify(oidctest.Request("GET", resURL, tok, f.proof(t, tok, nil)))
			if tt.ok && err != nil {
				t.Fatalf("%v, want accepted", err)
			}
			if !tt.ok {
				wantReason(t, err, solidoidc.ReasonTokenSignature)
			}
		})
	}
}
