package httpsig

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/dunglas/httpsfv"
)

// Label is the signature label Signer uses and Verifier prefers.
const Label = "sig1"

// Algorithm is the RFC 9421 algorithm name of Ed25519 signatures.
const Algorithm = "ed25519"

// Validity is how long after its creation a Signer's signature expires.
const Validity = 5 * time.Minute

// Signer signs outgoing requests. Its fields are read-only after first use,
// so one Signer can sign concurrently.
type Signer struct {
	// KeyID names the public key verifiers are to use; in podserver, the
	// URL of the key in the sending pod's WebID profile
	// (https://host/pod/profile/card#key).
	KeyID string
	// Key is the Ed25519 private key.
	Key ed25519.PrivateKey
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Sign signs req, whose content is body (nil or empty for none). It sets
// Content-Digest (SHA-256) when there is a body, and Signature-Input and
// Signature with label "sig1", replacing earlier values, so a request can be
// signed again before it is retried. body must be exactly the bytes the
// request sends; Sign does not read or replace req.Body.
func (s *Signer) Sign(req *http.Request, body []byte) error {
	if len(s.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key is %d bytes, not %d", ErrSign, len(s.Key), ed25519.PrivateKeySize)
	}
	if s.KeyID == "" || !printableASCII(s.KeyID) {
		return fmt.Errorf("%w: key id %q is empty or not printable ASCII", ErrSign, s.KeyID)
	}
	target, err := normalizeTarget(clientTarget(req))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSign, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	created := now().Unix()

	components := []string{"@method", "@target-uri"}
	if len(body) > 0 {
		req.Header.Set("Content-Digest", ContentDigest(body))
		components = append(components, "content-digest")
	} else {
		req.Header.Del("Content-Digest")
	}
	if req.Header.Get("Content-Type") != "" {
		components = append(components, "content-type")
	}
	sig := httpsfv.InnerList{Params: httpsfv.NewParams()}
	for _, c := range components {
		sig.Items = append(sig.Items, httpsfv.NewItem(c))
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sig.Params.Add("created", created)
	sig.Params.Add("expires", created+int64(Validity/time.Second))
	sig.Params.Add("keyid", s.KeyID)
	sig.Params.Add("alg", Algorithm)
	sig.Params.Add("nonce", base64.RawURLEncoding.EncodeToString(nonce))

	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	m := &message{method: method, target: target, header: req.Header}
	base, err := m.signatureBase(sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSign, err)
	}
	input, err := serializeInnerList(sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSign, err)
	}
	signature := ed25519.Sign(s.Key, []byte(base))
	req.Header.Set("Signature-Input", Label+"="+input)
	req.Header.Set("Signature", Label+"=:"+base64.StdEncoding.EncodeToString(signature)+":")
	return nil
}
