package httpsig

import (
	"bytes"
	"errors"
	"testing"
)

func TestBase58(t *testing.T) {
	tests := []struct {
		raw []byte
		enc string
	}{
		{nil, ""},
		{[]byte{0}, "1"},
		{[]byte{0, 0, 1}, "112"},
		{[]byte{57}, "z"},
		{[]byte{58}, "21"},
		{[]byte("hello world"), "StV1DL6CwTryKyV"},
	}
	for _, tt := range tests {
		if got := base58Encode(tt.raw); got != tt.enc {
			t.Errorf("base58Encode(%x) = %q, want %q", tt.raw, got, tt.enc)
		}
		back, err := base58Decode(tt.enc)
		if err != nil || !bytes.Equal(back, tt.raw) {
			t.Errorf("base58Decode(%q) = %x, %v", tt.enc, back, err)
		}
	}
	if _, err := base58Decode("0OIl"); err == nil {
		t.Error("base58Decode accepted characters outside the alphabet")
	}
}

func TestKeyRoundTrips(t *testing.T) {
	for range 50 {
		pub, _ := newKey(t)
		mb := PublicKeyMultibase(pub)
		if mb[:4] != "z6Mk" {
			t.Fatalf("multibase %s does not start with z6Mk", mb)
		}
		if got, err := ParsePublicKeyMultibase(mb); err != nil || !got.Equal(pub) {
			t.Fatalf("multibase round trip: %v", err)
		}
		if got, err := ParsePublicKeyJWK(PublicKeyJWK(pub)); err != nil || !got.Equal(pub) {
			t.Fatalf("JWK round trip: %v", err)
		}
	}
}

func TestKeyParseErrors(t *testing.T) {
	pub, _ := newKey(t)
	mb := PublicKeyMultibase(pub)
	x25519 := "z" + base58Encode(append([]byte{0xec, 0x01}, pub...))
	short := "z" + base58Encode(append([]byte{0xed, 0x01}, pub[:31]...))
	for _, s := range []string{"", "z", "u" + mb[1:], mb + "1", x25519, short, "z0OIl", mb + mb} {
		if _, err := ParsePublicKeyMultibase(s); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParsePublicKeyMultibase(%q) = %v, want ErrBadKey", s, err)
		}
	}
	x := string(PublicKeyJWK(pub))[len(`{"kty":"OKP","crv":"Ed25519","x":"`):]
	x = x[:len(x)-2]
	for _, s := range []string{
		``, `[]`, `{}`,
		`{"kty":"EC","crv":"Ed25519","x":"` + x + `"}`,
		`{"kty":"OKP","crv":"X25519","x":"` + x + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + x + `=="}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + x[:40] + `"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + x + `","d":"` + x + `"}`,
	} {
		if _, err := ParsePublicKeyJWK([]byte(s)); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParsePublicKeyJWK(%s) = %v, want ErrBadKey", s, err)
		}
	}
}
