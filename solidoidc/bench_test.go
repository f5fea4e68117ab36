package solidoidc_test

import (
	"context"
	"net/http"
	"testing"

	"podserver/solidoidc/oidctest"
)

// BenchmarkVerify is the cost of one verified request with the issuer's
// keys and the profile cached, over an in-memory store (the jti write is
// a store update): proof and token signatures, claims, replay record.
// Making the proofs (the client's work) is not timed.
func BenchmarkVerify(b *testing.B) {
	f := newFixtureTB(b)
	tok := f.iss.Token(b, f.clk.Now(), f.webID, f.client, nil)
	var proofs []string
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if len(proofs) == 0 {
			b.StopTimer()
			for range 1000 {
				proofs = append(proofs, oidctest.Proof(b, f.client, http.MethodGet, resURL, tok, f.clk.Now(), nil))
			}
			b.StartTimer()
		}
		p := proofs[len(proofs)-1]
		proofs = proofs[:len(proofs)-1]
		if _, err := f.v.Verify(ctx, oidctest.Request("GET", resURL, tok, p), resURL); err != nil {
			b.Fatal(err)
		}
	}
}
