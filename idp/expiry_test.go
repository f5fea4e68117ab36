package idp

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"podserver/store"
)

// expiringKinds are the record kinds the sweep deletes.
var expiringKinds = []byte{kindAuth, kindCode, kindToken, kindRefresh, kindFamily, kindCut, kindLimit}

// records returns the keys of kind.
func records(t *testing.T, p *Provider, kind byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := p.cfg.Store.View(context.Background(), func(r store.Reader) error {
		return r.Scan([]byte{Prefix[0], kind}, nil, false, func(k, _ []byte) error { out[string(k)] = true; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkIndex checks the expiry index: every record of an expiring kind
// has exactly one entry, at the time the record says (dueAt), and every
// entry names a record.
func checkIndex(t *testing.T, p *Provider) {
	t.Helper()
	entries := map[string][]int64{}
	for k := range records(t, p, kindExpiry) {
		target := k[10:]
		entries[target] = append(entries[target], int64(binary.BigEndian.Uint64([]byte(k[2:10]))))
	}
	n := 0
	err := p.cfg.Store.View(context.Background(), func(r store.Reader) error {
		for _, kind := range expiringKinds {
			err := r.Scan([]byte{Prefix[0], kind}, nil, false, func(k, v []byte) error {
				n++
				at, ok := p.dueAt(k, v)
				if e := entries[string(k)]; !ok || len(e) != 1 || e[0] != at.UnixNano() {
					return fmt.Errorf("record %q (due %v, readable %v) has index entries %v", k, at, ok, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(entries) {
		t.Fatalf("%d expiring records, %d index entries", n, len(entries))
	}
}

func sweep(t *testing.T, p *Provider) int {
	t.Helper()
	n, err := p.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, p)
	return n
}

func want(t *testing.T, p *Provider, what string, k []byte, exists bool) {
	t.Helper()
	var ok bool
	err := p.cfg.Store.View(context.Background(), func(r store.Reader) (err error) { ok, err = has(r, k); return err })
	if err != nil {
		t.Fatal(err)
	}
	if ok != exists {
		t.Fatalf("%s: exists %v, want %v", what, ok, exists)
	}
}

// TestSweep: auth requests, codes, access-token records, refresh tokens
// (used or not), revoked families, cuts and failed-login counters are
// deleted once they can no longer matter, and not before; the index
// stays consistent, and a rewritten cut is kept until its new time.
func TestSweep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &testClock{t: t0}
	p := testProvider(t, clk)
	s := &storage{p}
	ctx := withJKT(context.Background(), "jkt-of-the-test")
	bg := context.Background()

	// A public client with a consent of alice's.
	err := p.cfg.Store.Update(bg, func(tx store.Txn) error {
		if err := putJSON(tx, key(kindClient, "app1"), registeredClient{Meta: Metadata{RedirectURIs: []string{"https://app.test/cb"}}}); err != nil {
			return err
		}
		return putJSON(tx, key(kindConsent, "alice", appID("app1")), consentRecord{ID: appID("app1"), ClientID: "app1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	newAuth := func() *authRequest {
		t.Helper()
		a, err := s.CreateAuthRequest(bg, &oidc.AuthRequest{ClientID: "app1", RedirectURI: "https://app.test/cb", ResponseType: oidc.ResponseTypeCode,
			CodeChallenge: "challenge", CodeChallengeMethod: oidc.CodeChallengeMethodS256, Scopes: []string{"openid"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return a.(*authRequest)
	}
	// An auth request never finished, and one whose code was exchanged
	// (its tokens: an access token and a refresh token, rotated once).
	unfinished := newAuth()
	done := newAuth()
	if err := s.SaveAuthCode(bg, done.ID, "code-1"); err != nil {
		t.Fatal(err)
	}
	done.Pod, done.WebID, done.Consented = "alice", "https://x.test/alice/profile/card#me", true
	err = p.cfg.Store.Update(bg, func(tx store.Txn) error { return putJSON(tx, key(kindAuth, done.ID), done) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthRequestByCode(bg, "code-1"); err != nil {
		t.Fatal(err)
	}
	jti1, refresh1, _, err := s.CreateAccessAndRefreshTokens(ctx, done, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAuthRequest(bg, done.ID); err != nil {
		t.Fatal(err)
	}
	rr, err := s.TokenRequestByRefreshToken(ctx, refresh1)
	if err != nil {
		t.Fatal(err)
	}
	jti2, refresh2, _, err := s.CreateAccessAndRefreshTokens(ctx, rr, refresh1)
	if err != nil {
		t.Fatal(err)
	}
	// A client-credentials token, one revoked, a revoked family, a cut,
	// failed-login counters.
	cc, _, err := p.CreateClient(bg, "alice", "script")
	if err != nil {
		t.Fatal(err)
	}
	jti3, _, err := s.CreateAccessToken(ctx, &ccRequest{pod: "alice", webID: "w", clientID: cc.ID})
	if err != nil {
		t.Fatal(err)
	}
	jti4, _, err := s.CreateAccessToken(ctx, &ccRequest{pod: "alice", webID: "w", clientID: cc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if oe := s.RevokeToken(bg, jti4, "w", cc.ID); oe != nil {
		t.Fatal(oe)
	}
	if err := s.revokeFamily(bg, "fam-x"); err != nil {
		t.Fatal(err)
	}
	if err := p.Cut(bg, "alice", "app1"); err != nil {
		t.Fatal(err)
	}
	if blocked, err := p.reserveAttempt(bg, clk.now(), [][]byte{podCounter("alice"), ipCounter("2001:db8::1")}, []int{10, 30}); err != nil || blocked {
		t.Fatal(blocked, err)
	}
	checkIndex(t, p)
	if n := sweep(t, p); n != 0 {
		t.Fatalf("the first sweep deleted %d live records", n)
	}
	want(t, p, "revoked token's record", key(kindToken, jti4), false)

	// After the auth requests' life: they and the code go.
	clk.add(authTTL + time.Second)
	fresh := newAuth()
	want(t, p, "unfinished auth request before the sweep", key(kindAuth, unfinished.ID), true)
	sweep(t, p)
	want(t, p, "unfinished auth request", key(kindAuth, unfinished.ID), false)
	want(t, p, "used code", key(kindCode, hashed("code-1")), false)
	want(t, p, "a live auth request", key(kindAuth, fresh.ID), true)
	want(t, p, "a live access token's record", key(kindToken, jti1), true)
	want(t, p, "failed-login counter in its window", podCounter("alice"), true)

	// The counters' window ends; an access token's record stays until
	// its exp plus the clock skew.
	clk.add(p.cfg.AccessTokenTTL - authTTL - time.Second + skew/2)
	sweep(t, p)
	want(t, p, "failed-login counter", podCounter("alice"), false)
	want(t, p, "IPv6 counter", ipCounter("2001:db8::2"), false)
	want(t, p, "access token within the skew", key(kindToken, jti1), true)
	clk.add(skew)
	sweep(t, p)
	for _, j := range []string{jti1, jti2, jti3} {
		want(t, p, "expired access token's record", key(kindToken, j), false)
	}
	want(t, p, "used refresh token in its life", key(kindRefresh, hashed(refresh1)), true)
	want(t, p, "live refresh token", key(kindRefresh, hashed(refresh2)), true)
	want(t, p, "a revoked family", key(kindFamily, "fam-x"), true)

	// A day later the cut is made again: it lives on from then.
	clk.add(24 * time.Hour)
	if err := p.Cut(bg, "alice", "app1"); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, p)
	clk.t = t0.Add(p.cfg.RefreshTokenTTL + skew + time.Second)
	sweep(t, p)
	want(t, p, "used refresh token", key(kindRefresh, hashed(refresh1)), false)
	want(t, p, "refresh token", key(kindRefresh, hashed(refresh2)), false)
	want(t, p, "revoked family", key(kindFamily, "fam-x"), false)
	want(t, p, "a cut made again", key(kindCut, "alice", "app1"), true)
	clk.add(26 * time.Hour)
	sweep(t, p)
	for _, kind := range expiringKinds {
		if left := records(t, p, kind); len(left) != 0 {
			t.Errorf("records of kind %c left: %d", kind, len(left))
		}
	}
	if left := records(t, p, kindExpiry); len(left) != 0 {
		t.Errorf("index entries left: %d", len(left))
	}
	want(t, p, "the consent", key(kindConsent, "alice", appID("app1")), true)
	want(t, p, "the client", key(kindCC, "alice", cc.ID), true)
}

// TestSweepNodes: two providers (nodes) on one store sweep many expired
// records at once, in batches: every one is deleted once, no error.
func TestSweepNodes(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := testProvider(t, clk)
	p2, err := New(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3*sweepBatch + 7
	bg := context.Background()
	for i := range n {
		if blocked, err := p.reserveAttempt(bg, clk.now(), [][]byte{ipCounter(fmt.Sprintf("192.0.2.%d:%d", i%250, i))}, []int{10}); err != nil || blocked {
			t.Fatal(blocked, err)
		}
	}
	if got := len(records(t, p, kindLimit)); got != n {
		t.Fatalf("%d counters, want %d", got, n)
	}
	clk.add(p.cfg.LoginWindow)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, q := range []*Provider{p, p2} {
		wg.Go(func() { counts[i], errs[i] = q.Sweep(bg) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if counts[0]+counts[1] != n {
		t.Fatalf("deleted %d+%d, want %d", counts[0], counts[1], n)
	}
	if left := len(records(t, p, kindLimit)) + len(records(t, p, kindExpiry)); left != 0 {
		t.Fatalf("%d records left", left)
	}
}
