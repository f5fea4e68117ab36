package webid

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestOIDCIssuers reads solid:oidcIssuer from a Turtle profile without an
// inbox, skips non-http values and other agents' issuers, and refetches
// for RefreshOIDCIssuers only after MinRefreshInterval.
func TestOIDCIssuers(t *testing.T) {
	srv := newProfileServer(t)
	card := "/bob/profile/card"
	body := func(extra string) string {
		return `@prefix solid: <http://www.w3.org/ns/solid/terms#> .
<#me> solid:oidcIssuer <https://idp.example/>, <urn:x:not-http>, <https://idp.example/> ` + extra + ` .
<#other> solid:oidcIssuer <https://other.example/> .
`
	}
	srv.set(card, doc{contentType: "text/turtle", body: body("")})
	r, clk := newResolver(t, Options{MinRefreshInterval: 30 * time.Second})
	ctx := context.Background()
	webID := srv.URL + card + "#me"

	got, err := r.OIDCIssuers(ctx, webID)
	if err != nil || !slices.Equal(got, []string{"https://idp.example/"}) {
		t.Fatalf("issuers %v, %v", got, err)
	}
	srv.set(card, doc{contentType: "text/turtle", body: body(", <http://localhost:9/>")})
	if got, _ := r.RefreshOIDCIssuers(ctx, webID); len(got) != 1 || srv.count(card) != 1 {
		t.Fatalf("refetched within MinRefreshInterval: %v, %d fetches", got, srv.count(card))
	}
	clk.advance(31 * time.Second)
	got, err = r.RefreshOIDCIssuers(ctx, webID)
	if err != nil || !slices.Equal(got, []string{"http://localhost:9/", "https://idp.example/"}) || srv.count(card) != 2 {
		t.Fatalf("after refresh: %v, %v, %d fetches", got, err, srv.count(card))
	}
	if got, err := r.OIDCIssuers(ctx, srv.URL+card+"#nobody"); err != nil || len(got) != 0 {
		t.Fatalf("agent without issuers: %v, %v", got, err)
	}
}
