package httpsig

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

const testKeyID = "https://a.example/pod/profile/card#key"

var t0 = time.Unix(1_700_000_000, 0)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func newRequest(t testing.TB, method, target, contentType, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func staticKey(pub ed25519.PublicKey) func(context.Context, string) (ed25519.PublicKey, error) {
	return func(_ context.Context, id string) (ed25519.PublicKey, error) {
		if id != testKeyID {
			return nil, errors.New("no such key")
		}
		return pub, nil
	}
}

// signCustom signs req with hand-made parameters, for cases Signer never
// produces.
func signCustom(t *testing.T, req *http.Request, priv ed25519.PrivateKey, components []string, ps params) {
	t.Helper()
	sig := httpsfv.InnerList{Params: httpsfv.NewParams()}
	for _, c := range components {
		sig.Items = append(sig.Items, httpsfv.NewItem(c))
	}
	for _, p := range ps {
		sig.Params.Add(p.key, p.val)
	}
	target, err := normalizeTarget(clientTarget(req))
	if err != nil {
		t.Fatal(err)
	}
	m := &message{method: req.Method, target: target, header: req.Header}
	base, err := m.signatureBase(sig)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := serializeInnerList(sig)
	req.Header.Set("Signature-Input", "sig1="+in)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(base)))+":")
}

// param is one signature parameter of a hand-made signature; val is an
// httpsfv bare item (int64, string, ...).
type param struct {
	key string
	val any
}

// params are signature parameters in order.
type params []param

func intParam(k string, v int64) param  { return param{key: k, val: v} }
func strParam(k string, v string) param { return param{key: k, val: v} }

// asServer returns what a server sees of req: Host in req.Host, a
// relative URL, and a TLS connection state for https.
func asServer(req *http.Request) *http.Request {
	out := req.Clone(context.Background())
	out.Host = req.URL.Host
	if req.URL.Scheme == "https" {
		out.TLS = &tls.ConnectionState{}
	}
	u := *req.URL
	u.Scheme, u.Host = "", ""
	out.URL = &u
	out.RequestURI = u.RequestURI()
	return out
}

func TestSignVerify(t *testing.T) {
	pub, priv := newKey(t)
	otherPub, _ := newKey(t)
	body := `{"id":"https://a.example/pod/publish/1","topic":"realestate/contact#add"}`
	target := "https://b.example/bob/inbox/"
	fixed := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }

	tests := []struct {
		name    string
		mutate  func(t *testing.T, req *http.Request) // after signing
		body    string                                // body the verifier sees; "" = body
		resolve func(context.Context, string) (ed25519.PublicKey, error)
		now     func() time.Time
		want    error
	}{
		{name: "valid"},
		{name: "unsigned", mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Del("Signature")
			r.Header.Del("Signature-Input")
		}, want: ErrNoSignature},
		{name: "body changed", body: `{"id":"x"}`, want: ErrDigestMismatch},
		{name: "digest and body changed", body: `{"id":"x"}`, mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Set("Content-Digest", ContentDigest([]byte(`{"id":"x"}`)))
		}, want: ErrBadSignature},
		{name: "method changed", mutate: func(_ *testing.T, r *http.Request) { r.Method = http.MethodPut }, want: ErrBadSignature},
		{name: "path changed", mutate: func(_ *testing.T, r *http.Request) { r.URL.Path = "/eve/inbox/" }, want: ErrBadSignature},
		{name: "query added", mutate: func(_ *testing.T, r *http.Request) { r.URL.RawQuery = "x=1" }, want: ErrBadSignature},
		{name: "host changed", mutate: func(_ *testing.T, r *http.Request) { r.URL.Host = "c.example" }, want: ErrBadSignature},
		{name: "content type changed", mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Set("Content-Type", "text/turtle")
		}, want: ErrBadSignature},
		{name: "signature bytes flipped", mutate: func(_ *testing.T, r *http.Request) {
			s := r.Header.Get("Signature")
			r.Header.Set("Signature", s[:10]+flip(s[10])+s[11:])
		}, want: ErrBadSignature},
		{name: "garbage input", mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Set("Signature-Input", "sig1=(@method")
		}, want: ErrBadSignature},
		{name: "label mismatch", mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "sig1=", "sig2=", 1))
		}, want: ErrBadSignature},
		{name: "unknown key", resolve: func(context.Context, string) (ed25519.PublicKey, error) {
			return nil, errors.New("404")
		}, want: ErrUnknownKey},
		{name: "wrong key", resolve: staticKey(otherPub), want: ErrBadSignature},
		{name: "just under max age", now: fixed(DefaultMaxAge - time.Second)},
		{name: "too old", now: fixed(DefaultMaxAge + time.Second), want: ErrExpired},
		{name: "from the future", now: fixed(-DefaultSkew - time.Second), want: ErrExpired},
		{name: "slightly in the future", now: fixed(-DefaultSkew + time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, target, "application/ld+json", body)
			s := &Signer{KeyID: testKeyID, Key: priv, Now: fixed(0)}
			if err := s.Sign(req, []byte(body)); err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(t, req)
			}
			v := &Verifier{Resolve: staticKey(pub), Now: fixed(time.Second)}
			if tt.resolve != nil {
				v.Resolve = tt.resolve
			}
			if tt.now != nil {
				v.Now = tt.now
			}
			seen := body
			if tt.body != "" {
				seen = tt.body
			}
			keyID, err := v.Verify(context.Background(), asServer(req), []byte(seen))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err == nil && keyID != testKeyID {
				t.Fatalf("keyID = %q", keyID)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestSignatureFields(t *testing.T) {
	_, priv := newKey(t)
	body := `{"a":1}`
	req := newRequest(t, http.MethodPost, "https://B.example:443/inbox/?q=1", "application/ld+json", body)
	s := &Signer{KeyID: testKeyID, Key: priv, Now: func() time.Time { return t0 }}
	if err := s.Sign(req, []byte(body)); err != nil {
		t.Fatal(err)
	}
	in := req.Header.Get("Signature-Input")
	prefix := `sig1=("@method" "@target-uri" "content-digest" "content-type");created=1700000000;expires=1700000300;keyid="` + testKeyID + `";alg="ed25519";nonce="`
	if !strings.HasPrefix(in, prefix) {
		t.Fatalf("Signature-Input = %s\nwant prefix %s", in, prefix)
	}
	if got := req.Header.Get("Content-Digest"); got != ContentDigest([]byte(body)) {
		t.Fatalf("Content-Digest = %s", got)
	}

	// Without body and content type: only @method and @target-uri.
	get := newRequest(t, http.MethodGet, "http://b.example/x", "", "")
	get.Header.Set("Content-Digest", "stale")
	if err := s.Sign(get, nil); err != nil {
		t.Fatal(err)
	}
	if in := get.Header.Get("Signature-Input"); !strings.HasPrefix(in, `sig1=("@method" "@target-uri");`) {
		t.Fatalf("Signature-Input = %s", in)
	}
	if get.Header.Get("Content-Digest") != "" {
		t.Fatal("stale Content-Digest kept")
	}

	// Two signatures of the same request use different nonces.
	again := req.Clone(context.Background())
	if err := s.Sign(again, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if again.Header.Get("Signature-Input") == in {
		t.Fatal("nonce repeated")
	}
}

func TestSignErrors(t *testing.T) {
	_, priv := newKey(t)
	req := newRequest(t, http.MethodPost, "https://b.example/", "", "x")
	for _, s := range []*Signer{
		{KeyID: testKeyID},
		{KeyID: "", Key: priv},
		{KeyID: "bad\nid", Key: priv},
	} {
		if err := s.Sign(req, []byte("x")); !errors.Is(err, ErrSign) {
			t.Errorf("Sign(%q) = %v, want ErrSign", s.KeyID, err)
		}
	}
	rel := &http.Request{Method: http.MethodPost, URL: req.URL.ResolveReference(req.URL), Header: http.Header{}}
	rel.URL.Scheme, rel.URL.Host = "", ""
	if err := (&Signer{KeyID: testKeyID, Key: priv}).Sign(rel, nil); !errors.Is(err, ErrSign) {
		t.Errorf("Sign(relative URL) = %v, want ErrSign", err)
	}
}

// Hand-made signatures that break one rule each.
func TestVerifyPolicy(t *testing.T) {
	pub, priv := newKey(t)
	body := `{"a":1}`
	allComponents := []string{"@method", "@target-uri", "content-digest", "content-type"}
	good := func() params {
		return params{intParam("created", t0.Unix()), intParam("expires", t0.Unix()+300),
			strParam("keyid", testKeyID), strParam("alg", "ed25519"), strParam("nonce", "n1")}
	}
	without := func(key string) params {
		var out params
		for _, p := range good() {
			if p.key != key {
				out = append(out, p)
			}
		}
		return out
	}
	tests := []struct {
		name       string
		components []string
		params     params
		verifier   func(v *Verifier)
		want       error
	}{
		{"all good", allComponents, good(), nil, nil},
		{"no alg is fine", allComponents, without("alg"), nil, nil},
		{"no expires is fine", allComponents, without("expires"), nil, nil},
		{"extra tag param is fine", allComponents, append(good(), strParam("tag", "podserver")), nil, nil},
		{"no created", allComponents, without("created"), nil, ErrBadSignature},
		{"no keyid", allComponents, without("keyid"), nil, ErrBadSignature},
		{"no nonce", allComponents, without("nonce"), nil, ErrBadSignature},
		{"other alg", allComponents, append(without("alg"), strParam("alg", "rsa-pss-sha512")), nil, ErrBadSignature},
		{"created not integer", allComponents, append(without("created"), strParam("created", "1700000000")), nil, ErrBadSignature},
		{"expires before created", allComponents, append(without("expires"), intParam("expires", t0.Unix()-1)), nil, ErrBadSignature},
		{"expired", allComponents, append(without("expires"), intParam("expires", t0.Unix()+1)), nil, ErrExpired},
		{"no content-digest", []string{"@method", "@target-uri", "content-type"}, good(), nil, ErrBadSignature},
		{"no content-type", []string{"@method", "@target-uri", "content-digest"}, good(), nil, ErrBadSignature},
		{"no target", []string{"@method", "content-digest", "content-type"}, good(), nil, ErrBadSignature},
		{"more coverage is fine", append(allComponents, "@authority", "@path", "@query", "@scheme", "@request-target"), good(), nil, nil},
		{"custom max age", allComponents, good(), func(v *Verifier) { v.MaxAge = time.Second }, ErrExpired},
		{"proxy target", allComponents, good(), func(v *Verifier) {
			v.TargetURI = func(*http.Request) string { return "https://proxy.example/inbox/" }
		}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, "https://b.example/inbox/", "application/ld+json", body)
			req.Header.Set("Content-Digest", ContentDigest([]byte(body)))
			signCustom(t, req, priv, tt.components, tt.params)
			resolves := 0
			resolve := staticKey(pub)
			v := &Verifier{Resolve: func(ctx context.Context, id string) (ed25519.PublicKey, error) {
				resolves++
				return resolve(ctx, id)
			}, Now: func() time.Time { return t0.Add(2 * time.Second) }}
			if tt.verifier != nil {
				tt.verifier(v)
			}
			_, err := v.Verify(context.Background(), asServer(req), []byte(body))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			// A signature refused for what the request itself shows
			// (syntax, algorithm, times, coverage) costs no key fetch: the
			// key is asked for only once nothing but the key can refuse it.
			if err != nil && tt.name != "proxy target" && resolves != 0 {
				t.Errorf("the key was resolved %d times for a signature refused on its face", resolves)
			}
		})
	}
}

// A body that does not match its Content-Digest is refused before the key
// is fetched.
func TestVerifyDigestBeforeKey(t *testing.T) {
	pub, priv := newKey(t)
	req := newRequest(t, http.MethodPost, "https://b.example/inbox/", "application/ld+json", "{}")
	if err := (&Signer{KeyID: testKeyID, Key: priv, Now: func() time.Time { return t0 }}).Sign(req, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	resolves := 0
	v := &Verifier{Resolve: func(ctx context.Context, id string) (ed25519.PublicKey, error) {
		resolves++
		return pub, nil
	}, Now: func() time.Time { return t0 }}
	if _, err := v.Verify(context.Background(), asServer(req), []byte(`{"other":1}`)); !errors.Is(err, ErrDigestMismatch) || resolves != 0 {
		t.Errorf("Verify = %v after %d key fetches, want ErrDigestMismatch after none", err, resolves)
	}
}

func TestReplay(t *testing.T) {
	pub, priv := newKey(t)
	req := newRequest(t, http.MethodPost, "https://b.example/inbox/", "application/ld+json", "{}")
	s := &Signer{KeyID: testKeyID, Key: priv, Now: func() time.Time { return t0 }}
	if err := s.Sign(req, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	now := t0
	v := &Verifier{Resolve: staticKey(pub), Now: func() time.Time { return now }}
	if _, err := v.Verify(context.Background(), asServer(req), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(4 * time.Minute)
	if _, err := v.Verify(context.Background(), asServer(req), []byte("{}")); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	now = t0.Add(DefaultMaxAge + 2*time.Second)
	if _, err := v.Verify(context.Background(), asServer(req), []byte("{}")); !errors.Is(err, ErrExpired) {
		t.Fatalf("replay after max age: %v", err)
	}
	// A failed verification does not burn the nonce.
	v2 := &Verifier{Resolve: staticKey(pub), Now: func() time.Time { return t0 }}
	bad := asServer(req)
	bad.Method = http.MethodPut
	if _, err := v2.Verify(context.Background(), bad, []byte("{}")); !errors.Is(err, ErrBadSignature) {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), asServer(req), []byte("{}")); err != nil {
		t.Fatalf("nonce burnt by a failed verification: %v", err)
	}
}

func TestRefresh(t *testing.T) {
	oldPub, _ := newKey(t)
	newPub, newPriv := newKey(t)
	req := newRequest(t, http.MethodPost, "https://b.example/inbox/", "", "")
	if err := (&Signer{KeyID: testKeyID, Key: newPriv, Now: func() time.Time { return t0 }}).Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	refreshes := 0
	v := &Verifier{
		Resolve: staticKey(oldPub), // the cached, rotated-away key
		Refresh: func(context.Context, string) (ed25519.PublicKey, error) {
			refreshes++
			return newPub, nil
		},
		Now: func() time.Time { return t0 },
	}
	if _, err := v.Verify(context.Background(), asServer(req), nil); err != nil {
		t.Fatal(err)
	}
	if refreshes != 1 {
		t.Fatalf("refreshes = %d", refreshes)
	}
	v.Refresh = func(context.Context, string) (ed25519.PublicKey, error) { return nil, errors.New("rate limited") }
	if err := (&Signer{KeyID: testKeyID, Key: newPriv, Now: func() time.Time { return t0 }}).Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), asServer(req), nil); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify = %v", err)
	}
}

// A real client and server: the server reconstructs the target URI from
// what it receives, including the port.
func TestOverHTTP(t *testing.T) {
	pub, priv := newKey(t)
	v := &Verifier{Resolve: staticKey(pub)}
	var mu sync.Mutex
	var errs []error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := v.Verify(r.Context(), r, body)
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	s := &Signer{KeyID: testKeyID, Key: priv}
	var wg sync.WaitGroup
	for i := range 20 {
		body := `{"n":` + strings.Repeat("1", i+1) + `}`
		req := newRequest(t, http.MethodPost, srv.URL+"/bob/inbox/?x=%2F&y", "application/ld+json; charset=utf-8", body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Sign(req, []byte(body)); err != nil {
				t.Error(err)
				return
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
