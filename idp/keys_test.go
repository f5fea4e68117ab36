package idp

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"podserver/solidoidc"
	"podserver/store"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time                                                 { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration)                                            { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (noPods) WebID(pod string) string                                              { return "https://x.test/" + pod + "/profile/card#me" }
func (noPods) PodOfWebID(string) (string, bool)                                     { return "", false }
func (noPods) Active(context.Context, string) error                                 { return nil }
func (noPods) OwnerKey(context.Context, string, string) (bool, error)               { return false, nil }
func (noProofs) VerifyProof(context.Context, *http.Request, string) (string, error) { return "", nil }
func (noProofs) Verify(context.Context, *http.Request, string) (*solidoidc.Identity, error) {
	return nil, &solidoidc.Error{Code: solidoidc.CodeInvalidToken, Reason: solidoidc.ReasonBearer, Description: "no verifier in this test"}
}

type noPods struct{}
type noProofs struct{}

func testProvider(t *testing.T, clk *testClock) *Provider {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p, err := New(Config{Store: st, Issuer: "https://x.test/", Pods: noPods{}, Proofs: noProofs{}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sign signs claims with the key that signs now.
func sign(t *testing.T, p *Provider) (string, string) {
	t.Helper()
	sk, err := (&storage{p}).SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: sk.SignatureAlgorithm(), Key: jose.JSONWebKey{Key: sk.Key(), KeyID: sk.ID()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: p.Issuer()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok, sk.ID()
}

// verifies reports whether a key of the published set verifies tok.
func verifies(t *testing.T, p *Provider, tok string) bool {
	t.Helper()
	keys, err := (&storage{p}).KeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var c jwt.Claims
		if k.ID() == parsed.Headers[0].KeyID && parsed.Claims(k.Key(), &c) == nil {
			return true
		}
	}
	return false
}

// TestKeyRotation: a new key is published before it signs; tokens of the
// previous key verify until they expire; then it leaves the set.
func TestKeyRotation(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := testProvider(t, clk)
	ctx := context.Background()
	old, kid1 := sign(t, p)
	if err := p.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := (&storage{p}).KeySet(ctx)
	if len(keys) != 2 {
		t.Fatalf("after rotation the set has %d keys, want 2", len(keys))
	}
	if _, kid := sign(t, p); kid != kid1 {
		t.Fatal("the new key signs before its publish-ahead delay")
	}
	clk.add(p.cfg.KeyPublishAhead + time.Minute)
	newTok, kid2 := sign(t, p)
	if kid2 == kid1 {
		t.Fatal("the new key does not sign after the delay")
	}
	if !verifies(t, p, old) || !verifies(t, p, newTok) {
		t.Fatal("a token of the previous or the new key does not verify")
	}
	// A restart (another Provider on the same store) publishes the same.
	p2, _ := New(p.cfg)
	if !verifies(t, p2, old) {
		t.Fatal("another node does not publish the previous key")
	}
	clk.add(p.cfg.maxTokenLifetime() + p.cfg.KeyPublishAhead + time.Minute)
	if verifies(t, p, old) {
		t.Fatal("the previous key is still published after its tokens expired")
	}
	if !verifies(t, p, newTok) {
		t.Fatal("the current key left the set")
	}
}
