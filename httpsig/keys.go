package httpsig

// Encodings of Ed25519 public keys for publishing them in a WebID profile:
// Multikey (publicKeyMultibase) and JSON Web Key (RFC 8037).

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// multicodecEd25519Pub is the varint of the multicodec code ed25519-pub
// (0xed), which prefixes the key bytes in a Multikey.
var multicodecEd25519Pub = []byte{0xed, 0x01}

// PublicKeyMultibase encodes pub as a Multikey publicKeyMultibase value:
// "z" (base58btc) followed by the base58btc encoding of the multicodec
// prefix 0xed 0x01 and the 32 key bytes. Such values start with "z6Mk".
func PublicKeyMultibase(pub ed25519.PublicKey) string {
	return "z" + base58Encode(append(append([]byte{}, multicodecEd25519Pub...), pub...))
}

// ParsePublicKeyMultibase decodes a Multikey publicKeyMultibase value
// holding an Ed25519 public key.
func ParsePublicKeyMultibase(s string) (ed25519.PublicKey, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, fmt.Errorf("%w: multibase value is not base58btc ('z')", ErrBadKey)
	}
	if len(s) > 64 {
		return nil, fmt.Errorf("%w: multibase value is too long", ErrBadKey)
	}
	raw, err := base58Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if !bytes.HasPrefix(raw, multicodecEd25519Pub) {
		return nil, fmt.Errorf("%w: multicodec is not ed25519-pub", ErrBadKey)
	}
	raw = raw[len(multicodecEd25519Pub):]
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, not %d", ErrBadKey, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// jwk is an OKP JSON Web Key (RFC 8037 section 2).
type jwk struct {
	Kty string  `json:"kty"`
	Crv string  `json:"crv"`
	X   string  `json:"x"`
	D   *string `json:"d,omitempty"`
}

// PublicKeyJWK encodes pub as a JSON Web Key:
// {"kty":"OKP","crv":"Ed25519","x":"<base64url of the key>"}.
func PublicKeyJWK(pub ed25519.PublicKey) []byte {
	b, _ := json.Marshal(jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub)})
	return b // a struct of strings always marshals
}

// ParsePublicKeyJWK decodes a JSON Web Key holding an Ed25519 public key.
// Other members (kid, alg, use) are ignored; a key with a private part "d"
// is refused, as a published private key is compromised.
func ParsePublicKeyJWK(data []byte) (ed25519.PublicKey, error) {
	var k jwk
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%w: JWK: %w", ErrBadKey, err)
	}
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: JWK is kty %q crv %q, not OKP Ed25519", ErrBadKey, k.Kty, k.Crv)
	}
	if k.D != nil {
		return nil, fmt.Errorf("%w: JWK holds a private key", ErrBadKey)
	}
	x, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil {
		return nil, fmt.Errorf("%w: JWK x: %w", ErrBadKey, err)
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: JWK x is %d bytes, not %d", ErrBadKey, len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// base58btcAlphabet is the Bitcoin base58 alphabet.
const base58btcAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Encode encodes b in base58btc: each leading zero byte becomes a
// '1', the rest is the big-endian number in base 58.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// digits holds the number in base 58, least significant digit first.
	digits := make([]byte, 0, len(b)*138/100+1)
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := range digits {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, zeros, zeros+len(digits))
	for i := range out {
		out[i] = '1'
	}
	for i := len(digits) - 1; i >= 0; i-- {
		out = append(out, base58btcAlphabet[digits[i]])
	}
	return string(out)
}

// base58Decode is the inverse of base58Encode.
func base58Decode(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// bytesLE holds the number in base 256, least significant byte first.
	bytesLE := make([]byte, 0, len(s)*733/1000+1)
	for i := zeros; i < len(s); i++ {
		d := bytes.IndexByte([]byte(base58btcAlphabet), s[i])
		if d < 0 {
			return nil, fmt.Errorf("character %q is not base58btc", s[i])
		}
		carry := d
		for j := range bytesLE {
			carry += int(bytesLE[j]) * 58
			bytesLE[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			bytesLE = append(bytesLE, byte(carry))
			carry >>= 8
		}
	}
	out := make([]byte, zeros, zeros+len(bytesLE))
	for i := len(bytesLE) - 1; i >= 0; i-- {
		out = append(out, bytesLE[i])
	}
	return out, nil
}
