package httpsig

// Published test vectors, reproduced as test data:
//   - RFC 9421 Appendix B.1.4 (the Ed25519 test key "test-key-ed25519"),
//     B.2 (the test request) and B.2.6 (signing it with ed25519);
//   - RFC 9530 section 2 / RFC 9421 B.2 (Content-Digest of {"hello": "world"});
//   - RFC 8037 Appendix A.1-A.2 (Ed25519 JWK, the RFC 8032 TEST 1 key);
//   - W3C Data Integrity EdDSA Cryptosuites v1.0, test vector key pair
//     (w3c/vc-di-eddsa TestVectors/keyPair.json): a Multikey pair.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

const (
	rfc9421PrivatePEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`
	rfc9421PublicPEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`

	// The test request of RFC 9421 B.2.
	rfc9421Body   = `{"hello": "world"}`
	rfc9421Target = "https://example.com/foo?param=Value&Pet=dog"

	// B.2.6.
	b26Input = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	b26Base  = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	b26Signature = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
)

func rfc9421Keys(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	blk, _ := pem.Decode([]byte(rfc9421PrivatePEM))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ = pem.Decode([]byte(rfc9421PublicPEM))
	p, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub := k.(ed25519.PrivateKey), p.(ed25519.PublicKey)
	if !pub.Equal(priv.Public()) {
		t.Fatal("RFC 9421 B.1.4 public key does not match its private key")
	}
	return priv, pub
}

func rfc9421Request(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rfc9421Target, strings.NewReader(rfc9421Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	req.Header.Set("Content-Length", "18")
	return req
}

func TestRFC9421B26(t *testing.T) {
	priv, pub := rfc9421Keys(t)
	req := rfc9421Request(t)

	inputs, err := parseDictionary(b26Input)
	if err != nil {
		t.Fatal(err)
	}
	member, _ := inputs.Get("sig-b26")
	in := member.(httpsfv.InnerList)
	target, err := normalizeTarget(clientTarget(req))
	if err != nil {
		t.Fatal(err)
	}
	m := &message{method: req.Method, target: target, header: req.Header}
	base, err := m.signatureBase(in)
	if err != nil {
		t.Fatal(err)
	}
	if base != b26Base {
		t.Fatalf("signature base:\n%s\nwant:\n%s", base, b26Base)
	}

	sigs, err := parseDictionary(b26Signature)
	if err != nil {
		t.Fatal(err)
	}
	sigMember, _ := sigs.Get("sig-b26")
	want := sigMember.(httpsfv.Item).Value.([]byte)
	got := ed25519.Sign(priv, []byte(base)) // Ed25519 is deterministic
	if !bytes.Equal(got, want) {
		t.Fatalf("signature %s, want %s", base64.StdEncoding.EncodeToString(got), b26Signature)
	}
	if !ed25519.Verify(pub, []byte(base), want) {
		t.Fatal("RFC signature does not verify")
	}
	// Re-serialising the parsed Signature-Input gives the RFC text back.
	if s, _ := serializeInnerList(in); "sig-b26="+s != b26Input {
		t.Fatalf("re-serialised input %q", s)
	}
}

// The RFC's signature is valid, but our policy needs a nonce and more
// coverage (@target-uri, content-digest).
func TestRFC9421B26RefusedByPolicy(t *testing.T) {
	_, pub := rfc9421Keys(t)
	req := rfc9421Request(t)
	req.Host = "example.com"
	req.Header.Set("Signature-Input", b26Input)
	req.Header.Set("Signature", b26Signature)
	v := &Verifier{
		Resolve: func(context.Context, string) (ed25519.PublicKey, error) { return pub, nil },
		Now:     func() time.Time { return time.Unix(1618884473, 0) },
	}
	_, err := v.Verify(context.Background(), req, []byte(rfc9421Body))
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("err = %v, want ErrBadSignature", err)
	}
}

func TestContentDigestVectors(t *testing.T) {
	body := []byte(rfc9421Body)
	const sha256Field = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	const sha512Field = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
	if got := ContentDigest(body); got != sha256Field {
		t.Fatalf("ContentDigest = %s, want %s", got, sha256Field)
	}
	tests := []struct {
		name  string
		lines []string
		body  string
		ok    bool
	}{
		{"sha-256", []string{sha256Field}, rfc9421Body, true},
		{"sha-512", []string{sha512Field}, rfc9421Body, true},
		{"both, one line", []string{sha256Field + ", " + sha512Field}, rfc9421Body, true},
		{"both, two lines", []string{sha512Field, sha256Field}, rfc9421Body, true},
		{"unknown algorithm ignored", []string{"md5=:AAAA:, " + sha256Field}, rfc9421Body, true},
		{"only unknown algorithm", []string{"md5=:AAAA:"}, rfc9421Body, false},
		{"other body", []string{sha256Field}, `{"hello": "world!"}`, false},
		{"one of two wrong", []string{sha256Field + ", sha-512=:AAAA:"}, rfc9421Body, false},
		{"not bytes", []string{`sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="`}, rfc9421Body, false},
		{"malformed", []string{"sha-256=:X48E"}, rfc9421Body, false},
		{"absent", nil, rfc9421Body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkContentDigest(tt.lines, []byte(tt.body))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("err = %v, not ErrDigestMismatch", err)
			}
		})
	}
}

func TestMultikeyVector(t *testing.T) {
	// W3C vc-di-eddsa test vector key pair. The private key is a multibase
	// multicodec ed25519-priv (0x1300, varint 0x80 0x26) seed.
	const pubMB = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
	const privMB = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
	raw, err := base58Decode(privMB[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte{0x80, 0x26}) || len(raw) != 2+ed25519.SeedSize {
		t.Fatalf("private multikey bytes %x", raw)
	}
	pub := ed25519.NewKeyFromSeed(raw[2:]).Public().(ed25519.PublicKey)
	if got := PublicKeyMultibase(pub); got != pubMB {
		t.Fatalf("PublicKeyMultibase = %s, want %s", got, pubMB)
	}
	back, err := ParsePublicKeyMultibase(pubMB)
	if err != nil || !back.Equal(pub) {
		t.Fatalf("ParsePublicKeyMultibase = %x, %v", back, err)
	}
}

func TestJWKVector(t *testing.T) {
	// RFC 8037 A.1/A.2: the RFC 8032 TEST 1 key as an OKP JWK.
	const d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	const x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	seed, _ := base64.RawURLEncoding.DecodeString(d)
	if hex.EncodeToString(seed) != "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" {
		t.Fatal("RFC 8037 d is not the RFC 8032 TEST 1 secret key")
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	want := `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`
	if got := string(PublicKeyJWK(pub)); got != want {
		t.Fatalf("PublicKeyJWK = %s, want %s", got, want)
	}
	back, err := ParsePublicKeyJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"k1"}`))
	if err != nil || !back.Equal(pub) {
		t.Fatalf("ParsePublicKeyJWK = %x, %v", back, err)
	}
}
