package webid

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"testing"
	"time"

	"podserver/httpsig"
)

// A sender rotates its key: the verifier's cached profile has the old key,
// the refresh (rate limited) brings the new one.
func TestKeyRotationWithVerifier(t *testing.T) {
	oldPub, oldPriv := newKey(t)
	newPub, newPriv := newKey(t)
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	keyID := srv.URL + card + "#key"
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", httpsig.PublicKeyMultibase(oldPub))})
	r, clk := newResolver(t, Options{MinRefreshInterval: time.Minute})
	v := &httpsig.Verifier{Resolve: r.KeyResolver(), Refresh: r.RefreshKey, Now: clk.Now}
	ctx := context.Background()

	send := func(priv ed25519.PrivateKey, id string) error {
		t.Helper()
		body := []byte(`{"id":"x"}`)
		req, _ := http.NewRequest(http.MethodPost, "http://b.example/bob/inbox/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/ld+json")
		s := &httpsig.Signer{KeyID: id, Key: priv, Now: clk.Now}
		if err := s.Sign(req, body); err != nil {
			t.Fatal(err)
		}
		// What the server sees.
		req.Host = req.URL.Host
		req.URL.Scheme, req.URL.Host = "", ""
		got, err := v.Verify(ctx, req, body)
		if err == nil && got != id {
			t.Fatalf("Verify returned key id %q, want %q", got, id)
		}
		return err
	}

	if err := send(oldPriv, keyID); err != nil {
		t.Fatalf("old key: %v", err)
	}
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", httpsig.PublicKeyMultibase(newPub))})

	// Within MinRefreshInterval of the fetch: no refetch, the new key fails.
	clk.advance(10 * time.Second)
	if err := send(newPriv, keyID); !errors.Is(err, httpsig.ErrBadSignature) {
		t.Fatalf("new key before refresh allowed: %v", err)
	}
	if n := srv.count(card); n != 1 {
		t.Fatalf("%d fetches, want 1 (refresh rate limited)", n)
	}

	// Later: the failing signature refreshes the profile once.
	clk.advance(time.Minute)
	if err := send(newPriv, keyID); err != nil {
		t.Fatalf("new key after refresh: %v", err)
	}
	if err := send(newPriv, keyID); err != nil {
		t.Fatal(err)
	}
	if n := srv.count(card); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// A bad signature does not make every request refetch.
	for range 5 {
		if err := send(oldPriv, keyID); !errors.Is(err, httpsig.ErrBadSignature) {
			t.Fatalf("old key after rotation: %v", err)
		}
	}
	if n := srv.count(card); n != 2 {
		t.Fatalf("%d fetches after bad signatures, want 2", n)
	}

	// An unknown key id.
	if err := send(newPriv, srv.URL+card+"#key2"); !errors.Is(err, httpsig.ErrUnknownKey) || !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown key id: %v", err)
	}
}

// A key added to a cached profile is found by refetching the document.
func TestNewKeyIDRefetches(t *testing.T) {
	pub, _ := newKey(t)
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
	r, clk := newResolver(t, Options{MinRefreshInterval: time.Minute})
	ctx := context.Background()
	if _, err := r.Profile(ctx, srv.URL+card+"#me"); err != nil {
		t.Fatal(err)
	}
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", httpsig.PublicKeyMultibase(pub))})
	if _, err := r.ResolveKey(ctx, srv.URL+card+"#key"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("within MinRefreshInterval: %v", err)
	}
	clk.advance(time.Minute)
	if k, err := r.ResolveKey(ctx, srv.URL+card+"#key"); err != nil || !k.Equal(pub) {
		t.Fatalf("after MinRefreshInterval: %v", err)
	}
	if n := srv.count(card); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}
