package pod_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/pod"
	"podserver/podtest"
	"podserver/solidoidc"
	"podserver/solidoidc/oidctest"
)

// oidcClient is a Solid-OIDC client of the test: a DPoP key and tokens
// for one WebID from the test issuer.
type oidcClient struct {
	iss   *oidctest.Issuer
	key   jose.JSONWebKey
	webID string
}

// send sends method url with a token and a fresh proof (proof "" makes
// one, "-" sends none) and returns the reply.
func (c oidcClient) send(t *testing.T, method, url, token, proof string) reply {
	t.Helper()
	if token == "" {
		token = c.iss.Token(t, time.Now(), c.webID, c.key, nil)
	}
	switch proof {
	case "":
		proof = oidctest.Proof(t, c.key, method, url, token, time.Now(), nil)
	case "-":
		proof = ""
	}
	req := oidctest.Request(method, url, token, proof)
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

// profileServer serves Turtle WebID profiles naming issuers.
func profileServer(t *testing.T, docs map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/turtle")
		_, _ = io.WriteString(w, d)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSolidOIDCEndToEnd: WebIDs whose profiles name the test issuer (one
// a pod of this server whose owner PATCHed its profile, one on another
// server) read a resource the ACL grants them with DPoP-bound tokens; a
// WebID not granted gets 403; a missing proof, a Bearer token and a
// replayed proof get 401 with a DPoP challenge; refusals are counted by
// reason.
func TestSolidOIDCEndToEnd(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	base := s.BaseURL()
	turtle := func(issuer string) string {
		return "@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n<#me> solid:oidcIssuer <" + issuer + "> .\n"
	}
	remote := profileServer(t, map[string]string{"/carol/card": turtle(iss.URL), "/dave/card": turtle(iss.URL)})
	carol, dave, bob := remote.URL+"/carol/card#me", remote.URL+"/dave/card#me", s.WebID("bob")

	// bob names the issuer in his profile on this server.
	patch := `INSERT DATA { <#me> <http://www.w3.org/ns/solid/terms#oidcIssuer> <` + iss.URL + `> . }`
	if r := do(t, base, call{method: "PATCH", path: "/bob/profile/card", key: bobKey, ctype: "application/sparql-update", body: patch}); r.status/100 != 2 {
		t.Fatalf("PATCH bob's profile: %d %s", r.status, r.body)
	}
	// alice's document, readable by bob and carol.
	if r := do(t, base, call{method: "PUT", path: "/alice/oidc/doc", key: aliceKey, ctype: "text/plain", body: "for bob and carol"}); r.status != 201 {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	acl := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [{"@id": "#read", "@type": "acl:Authorization",
		"acl:agent": [{"@id": "` + bob + `"}, {"@id": "` + carol + `"}],
		"acl:accessTo": {"@id": "` + base + `/alice/oidc/doc"}, "acl:mode": {"@id": "acl:Read"}}]}`
	if r := do(t, base, call{method: "PUT", path: "/alice/oidc/doc.acl", key: aliceKey, ctype: "application/ld+json", body: acl}); r.status != 201 {
		t.Fatalf("PUT acl: %d %s", r.status, r.body)
	}
	doc := base + "/alice/oidc/doc"
	client := func(webID string) oidcClient { return oidcClient{iss: iss, key: oidctest.NewKey(t), webID: webID} }

	for _, who := range []string{bob, carol} {
		if r := client(who).send(t, "GET", doc, "", ""); r.status != 200 || r.body != "for bob and carol" {
			t.Fatalf("GET as %s: %d %s", who, r.status, r.body)
		}
	}
	if r := client(carol).send(t, "PUT", doc, "", ""); r.status != 403 {
		t.Fatalf("PUT as carol (Read only): %d %s", r.status, r.body)
	}
	if r := client(dave).send(t, "GET", doc, "", ""); r.status != 403 {
		t.Fatalf("GET as dave (not granted): %d %s", r.status, r.body)
	}

	// 401s: a challenge and a JSON error.
	c := client(carol)
	tok := iss.Token(t, time.Now(), carol, c.key, nil)
	proof := oidctest.Proof(t, c.key, "GET", doc, tok, time.Now(), nil)
	if r := c.send(t, "GET", doc, tok, proof); r.status != 200 {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	bearer, _ := http.NewRequest("GET", doc, nil)
	bearer.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(bearer)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	refusals := []struct {
		name string
		r    reply
		code string
	}{
		{"no proof", c.send(t, "GET", doc, tok, "-"), solidoidc.CodeInvalidProof},
		{"replayed proof", c.send(t, "GET", doc, tok, proof), solidoidc.CodeInvalidProof},
		{"bearer", reply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}, solidoidc.CodeInvalidToken},
		{"expired", c.send(t, "GET", doc, iss.Token(t, time.Now().Add(-time.Hour), carol, c.key, nil), ""), solidoidc.CodeInvalidToken},
	}
	// A proof made for another server, forwarded here with that server's
	// Host: the htu is compared with this server's names, not the Host.
	fwd := "http://evil.example/alice/oidc/doc"
	ftok := iss.Token(t, time.Now(), carol, c.key, nil)
	freq := oidctest.Request("GET", doc, ftok, oidctest.Proof(t, c.key, "GET", fwd, ftok, time.Now(), nil))
	freq.RequestURI, freq.Host = "", "evil.example"
	fresp, err := http.DefaultClient.Do(freq)
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := io.ReadAll(fresp.Body)
	fresp.Body.Close()
	refusals = append(refusals, struct {
		name string
		r    reply
		code string
	}{"forwarded proof", reply{status: fresp.StatusCode, hdr: fresp.Header, body: string(fb)}, solidoidc.CodeInvalidProof})
	for _, x := range refusals {
		var body struct{ Error string }
		if x.r.status != 401 || json.Unmarshal([]byte(x.r.body), &body) != nil || !strings.HasPrefix(body.Error, "Solid-OIDC token refused: ") {
			t.Fatalf("%s: %d %s", x.name, x.r.status, x.r.body)
		}
		ch := x.r.hdr.Get("WWW-Authenticate")
		if !strings.HasPrefix(ch, `DPoP algs="ES256 `) || !strings.Contains(ch, `error="`+x.code+`"`) || !strings.Contains(ch, "error_description=") {
			t.Fatalf("%s: challenge %q", x.name, ch)
		}
		if strings.Contains(x.r.body, tok) || strings.Contains(ch, tok) {
			t.Fatalf("%s: the response holds the token", x.name)
		}
	}

	// API keys work as before, and the metrics count refusals by reason.
	if r := do(t, base, call{method: "GET", path: "/alice/oidc/doc", key: aliceKey}); r.status != 200 {
		t.Fatalf("API key: %d", r.status)
	}
	m := do(t, base, call{method: "GET", path: "/metrics"}).body
	for _, line := range []string{
		`podserver_oidc_token_failures_total{reason="proof_replay"} 1`,
		`podserver_oidc_token_failures_total{reason="bearer_token"} 1`,
		`podserver_oidc_token_failures_total{reason="token_expired"} 1`,
		`podserver_oidc_token_failures_total{reason="malformed_request"} 1`,
		`podserver_oidc_token_failures_total{reason="proof_htu"} 1`,
		`podserver_oidc_tokens_accepted_total 5`,
	} {
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// BenchmarkGetSolidOIDC reads a 100-byte resource that its ACL grants bob
// through the full stack (at http://bench.localhost: WebIDs must be https
// or loopback), on an on-disk store ("disk") and an in-memory one ("mem"),
// with bob's API key and with a DPoP-bound token: issuer keys and profile
// cached after the first request, every request recording its proof's jti
// in the store (a durable write on disk). "dpop-parallel" runs as many
// clients as GOMAXPROCS, whose jti writes share group commits. Making
// proofs, the client's work, is not timed.
func BenchmarkGetSolidOIDC(b *testing.B) {
	for _, store := range []string{"disk", "mem"} {
		b.Run(store, func(b *testing.B) { benchSolidOIDC(b, store == "mem") })
	}
}

func benchSolidOIDC(b *testing.B, inMemory bool) {
	iss := oidctest.NewIssuer(b)
	opts := pod.Options{BaseURL: "http://bench.localhost", InMemory: inMemory, AllowPrivateTargets: true}
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
	h := s.Handler()
	serve := func(method, path, key, ctype, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://bench.localhost"+path, strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	bob := s.WebID("bob")
	for _, w := range []*httptest.ResponseRecorder{
		serve("PATCH", "/bob/profile/card", bobKey, "application/sparql-update", `INSERT DATA { <#me> <http://www.w3.org/ns/solid/terms#oidcIssuer> <`+iss.URL+`> . }`),
		serve("PUT", "/alice/notes/small", aliceKey, "text/plain", strings.Repeat("x", 100)),
		serve("PUT", "/alice/notes/small.acl", aliceKey, "text/turtle", `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#r> a acl:Authorization; acl:agent <`+bob+`>; acl:accessTo <small>; acl:mode acl:Read .`),
	} {
		if w.Code/100 != 2 {
			b.Fatalf("setup: %d %s", w.Code, w.Body)
		}
	}
	url := "http://bench.localhost/alice/notes/small"
	key := oidctest.NewKey(b)
	tok := iss.Token(b, time.Now(), bob, key, nil)
	get := func(b *testing.B, proof string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, oidctest.Request("GET", url, tok, proof))
		if w.Code != 200 {
			b.Errorf("%d %s", w.Code, w.Body)
		}
	}
	proofs := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = oidctest.Proof(b, key, "GET", url, tok, time.Now(), nil)
		}
		return out
	}
	b.Run("apikey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if w := serve("GET", "/alice/notes/small", bobKey, "", ""); w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	b.Run("dpop", func(b *testing.B) {
		ps := proofs(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			get(b, ps[i])
		}
	})
	b.Run("dpop-parallel", func(b *testing.B) {
		ps := proofs(b.N)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b, ps[next.Add(1)-1])
			}
		})
	})
}
