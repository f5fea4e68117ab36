// Package oidctest is a tiny Solid-OIDC identity provider and client for
// tests: an httptest server serving OpenID discovery and a JWKS, access
// tokens it signs with go-jose, and DPoP proofs made by a client key. Its
// knobs let tests forge every kind of bad token and proof.
//
// It imports no other podserver package.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a test identity provider listening on loopback.
type Issuer struct {
	// URL is the issuer identifier (the server's URL with a trailing
	// slash, as Community Solid Server has it).
	URL string
	// Server is the test server.
	Server *httptest.Server

	mu        sync.Mutex
	keys      []jose.JSONWebKey // private signing keys, the first one signs
	decoys    []jose.JSONWebKey // public keys served before the signing keys
	discIss   string            // issuer named by discovery ("" = URL)
	down      bool              // discovery and JWKS answer 503
	fetches   int
	jwksFetch int
}

// NewIssuer starts an Issuer with one ES256 key; it stops when the test
// ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{}
	iss.Rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		iss.mu.Lock()
		iss.fetches++
		name, down := iss.discIss, iss.down
		iss.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if name == "" {
			name = iss.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                name,
			"jwks_uri":                              iss.URL + "jwks",
			"token_endpoint":                        iss.URL + "token",
			"dpop_signing_alg_values_supported":     []string{"ES256"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		iss.mu.Lock()
		iss.jwksFetch++
		down := iss.down
		set := jose.JSONWebKeySet{Keys: slices.Clone(iss.decoys)}
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		iss.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.Server = httptest.NewServer(mux)
	iss.URL = iss.Server.URL + "/"
	t.Cleanup(iss.Server.Close)
	return iss
}

// Rotate adds a new ES256 signing key, which signs from now on; the old
// keys stay in the JWKS.
func (i *Issuer) Rotate(t testing.TB) {
	t.Helper()
	k := NewKey(t)
	i.mu.Lock()
	k.KeyID = "k" + string(rune('0'+len(i.keys)))
	i.keys = append([]jose.JSONWebKey{k}, i.keys...)
	i.mu.Unlock()
}

// SetDown makes discovery and the JWKS answer 503 (down true) or serve
// again.
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	i.down = down
	i.mu.Unlock()
}

// SetDecoys makes the JWKS list the public keys of keys before the
// issuer's own.
func (i *Issuer) SetDecoys(keys []jose.JSONWebKey) {
	i.mu.Lock()
	i.decoys = i.decoys[:0]
	for _, k := range keys {
		i.decoys = append(i.decoys, k.Public())
	}
	i.mu.Unlock()
}

// SetDiscoveryIssuer makes discovery name another issuer than URL.
func (i *Issuer) SetDiscoveryIssuer(s string) {
	i.mu.Lock()
	i.discIss = s
	i.mu.Unlock()
}

// JWKSFetches returns how often the JWKS was fetched.
func (i *Issuer) JWKSFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksFetch
}

// SigningKey returns the current private signing key.
func (i *Issuer) SigningKey() jose.JSONWebKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keys[0]
}

// NewKey returns a new private ES256 JWK.
func NewKey(t testing.TB) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"}
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of k's public key,
// base64url.
func Thumbprint(t testing.TB, k jose.JSONWebKey) string {
	t.Helper()
	pub := k.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// Claims are an access token's claims; Token fills the zero ones.
type Claims map[string]any

// Token returns an access token for webID bound to the client key,
// issued at now and valid for ten minutes, with aud ["solid", client id]
// and client_id "https://app.example/id". extra replaces or adds claims
// (a nil value removes one).
func (i *Issuer) Token(t testing.TB, now time.Time, webID string, client jose.JSONWebKey, extra Claims) string {
	t.Helper()
	return Sign(t, i.SigningKey(), "at+jwt", nil, i.TokenClaims(t, now, webID, client, extra))
}

// TokenClaims returns the claims of Token, to sign with another key.
func (i *Issuer) TokenClaims(t testing.TB, now time.Time, webID string, client jose.JSONWebKey, extra Claims) Claims {
	t.Helper()
	c := Claims{
		"iss":       i.URL,
		"aud":       []string{"solid", "https://app.example/id"},
		"sub":       webID,
		"webid":     webID,
		"client_id": "https://app.example/id",
		"iat":       now.Unix(),
		"exp":       now.Add(10 * time.Minute).Unix(),
		"jti":       rand.Text(),
		"cnf":       map[string]string{"jkt": Thumbprint(t, client)},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// Sign returns a compact JWS of claims signed with key, with typ and the
// extra headers.
func Sign(t testing.TB, key jose.JSONWebKey, typ string, headers map[jose.HeaderKey]any, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	for k, v := range headers {
		opts = opts.WithHeader(k, v)
	}
	alg := jose.SignatureAlgorithm(key.Algorithm)
	if key.KeyID != "" && headers["kid"] == nil {
		opts = opts.WithHeader("kid", key.KeyID)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := claims.(Claims); ok {
		claims = map[string]any(c)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ATH returns the ath claim for token.
func ATH(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Proof returns a DPoP proof by client for method and url at now, bound
// to token (ath), with a new jti. extra replaces or adds claims (nil
// removes one).
func Proof(t testing.TB, client jose.JSONWebKey, method, url, token string, now time.Time, extra Claims) string {
	t.Helper()
	c := Claims{"htm": method, "htu": url, "iat": now.Unix(), "jti": rand.Text(), "ath": ATH(token)}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	pub := client.Public()
	pub.KeyID = ""
	return Sign(t, jose.JSONWebKey{Key: client.Key, Algorithm: client.Algorithm}, "dpop+jwt", map[jose.HeaderKey]any{"jwk": pub}, c)
}

// Request returns a GET-like request for method and url carrying
// Authorization: DPoP token and the proof.
func Request(method, url, token, proof string) *http.Request {
	r := httptest.NewRequest(method, url, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	return r
}

// Unsigned returns an alg=none JWT with the given header and claims, as
// an attacker would make it (go-jose refuses to make one).
func Unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}
