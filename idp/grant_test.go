package idp

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCheckGrant: the grant of a token stands after the token expired,
// for as long as its client, family and session do, and no longer than a
// revocation would be recorded.
func TestCheckGrant(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bg := context.Background()
	ctx := withJKT(bg, "jkt-of-the-test")

	type setup struct {
		p     *Provider
		s     *storage
		clk   *testClock
		cc    string
		grant Grant
	}
	// issue makes a client-credentials client of alice and a token, and
	// returns the token's grant as a channel would keep it.
	issue := func(t *testing.T) setup {
		clk := &testClock{t: t0}
		p := testProvider(t, clk)
		s := &storage{p}
		cc, _, err := p.CreateClient(bg, "alice", "script")
		if err != nil {
			t.Fatal(err)
		}
		jti, _, err := s.CreateAccessToken(ctx, &ccRequest{pod: "alice", webID: "w", clientID: cc.ID})
		if err != nil {
			t.Fatal(err)
		}
		g, err := p.CheckToken(bg, jti)
		if err != nil {
			t.Fatal(err)
		}
		g, err = ParseGrant(g.String())
		if err != nil {
			t.Fatal(err)
		}
		return setup{p: p, s: s, clk: clk, cc: cc.ID, grant: g}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, x setup)
		reason string // "" when the grant still stands
	}{
		{"unchanged", func(*testing.T, setup) {}, ""},
		{"the token expired and was swept", func(t *testing.T, x setup) {
			x.clk.add(x.p.cfg.AccessTokenTTL + 2*skew)
			sweep(t, x.p)
		}, ""},
		{"the token was revoked", func(t *testing.T, x setup) {
			if oe := x.s.RevokeToken(bg, x.grant.jti, "w", x.cc); oe != nil {
				t.Fatal(oe)
			}
		}, "the token was revoked"},
		{"the client was deleted after the token expired", func(t *testing.T, x setup) {
			x.clk.add(x.p.cfg.AccessTokenTTL + 2*skew)
			sweep(t, x.p)
			if err := x.p.DeleteClient(bg, "alice", x.cc); err != nil {
				t.Fatal(err)
			}
		}, "the token's client was deleted"},
		{"the client's tokens were cut", func(t *testing.T, x setup) {
			x.clk.add(time.Second)
			if err := x.p.Cut(bg, "alice", x.cc); err != nil {
				t.Fatal(err)
			}
		}, "the session was logged out or its access withdrawn"},
		{"the grant outlived what revocations are kept for", func(t *testing.T, x setup) {
			x.clk.add(x.p.cfg.maxGrantLifetime())
		}, "the grant has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := issue(t)
			tc.change(t, x)
			err := x.p.CheckGrant(bg, x.grant)
			var rv *ErrRevoked
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("CheckGrant: %v", err)
			case tc.reason != "" && (!errors.As(err, &rv) || rv.Reason != tc.reason):
				t.Fatalf("CheckGrant: %v, want %q", err, tc.reason)
			}
		})
	}

	// A revoked family ends the grants of its tokens.
	x := issue(t)
	x.grant.rec.Family = "fam-1"
	if err := x.p.CheckGrant(bg, x.grant); err != nil {
		t.Fatal(err)
	}
	if err := x.s.revokeFamily(bg, "fam-1"); err != nil {
		t.Fatal(err)
	}
	if err := x.p.CheckGrant(bg, x.grant); err == nil {
		t.Error("the grant of a revoked family stands")
	}
	if _, err := ParseGrant(`{"jti":""}`); err == nil {
		t.Error("ParseGrant took a grant without a token id")
	}
}
