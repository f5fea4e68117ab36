package httpsig

// Content-Digest (RFC 9530): a dictionary of algorithm keys to byte
// sequences holding the digest of the message content.

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/dunglas/httpsfv"
)

// ContentDigest returns the Content-Digest field value for body with
// SHA-256, as in `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// digestFuncs are the algorithms of the IANA Hash Algorithms for HTTP
// Digest Fields registry that are not deprecated and that we check.
var digestFuncs = map[string]func([]byte) []byte{
	"sha-256": func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
	"sha-512": func(b []byte) []byte { s := sha512.Sum512(b); return s[:] },
}

// checkContentDigest checks the Content-Digest field lines against body.
// Every sha-256 and sha-512 member must match, and there must be at least
// one; other algorithms are ignored.
func checkContentDigest(lines []string, body []byte) error {
	if len(lines) == 0 {
		return fmt.Errorf("%w: no Content-Digest field", ErrDigestMismatch)
	}
	d, err := parseDictionary(strings.Join(lines, ", "))
	if err != nil {
		return fmt.Errorf("%w: Content-Digest: %w", ErrDigestMismatch, err)
	}
	checked := 0
	for _, key := range d.Names() {
		sum, ok := digestFuncs[key]
		if !ok {
			continue
		}
		m, _ := d.Get(key)
		it, isItem := m.(httpsfv.Item)
		raw, isBytes := it.Value.([]byte)
		if !isItem || !isBytes {
			return fmt.Errorf("%w: Content-Digest member %s is not a byte sequence", ErrDigestMismatch, key)
		}
		if subtle.ConstantTimeCompare(sum(body), raw) != 1 {
			return fmt.Errorf("%w: %s of the body differs", ErrDigestMismatch, key)
		}
		checked++
	}
	if checked == 0 {
		return fmt.Errorf("%w: Content-Digest has no sha-256 or sha-512 member", ErrDigestMismatch)
	}
	return nil
}
