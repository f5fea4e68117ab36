package httpsig

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dunglas/httpsfv"
)

// Defaults of the Verifier fields.
const (
	DefaultMaxAge = 5 * time.Minute
	DefaultSkew   = time.Minute
)

// Limits on signature parameters.
const (
	maxNonceLen = 256
	maxKeyIDLen = 2048
)

// Verifier verifies signed incoming requests. Set its fields before first
// use and do not copy it afterwards; Verify is safe for concurrent use.
type Verifier struct {
	// Resolve returns the public key named by a key id. Required.
	Resolve func(ctx context.Context, keyID string) (ed25519.PublicKey, error)
	// Refresh, when set, is called at most once per request when the
	// signature does not verify with the key Resolve returned; it returns
	// a freshly fetched key (the signer may have rotated its key) or an
	// error, for example when refreshing is rate limited.
	Refresh func(ctx context.Context, keyID string) (ed25519.PublicKey, error)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxAge is how old a signature may be (by its created time);
	// 0 means DefaultMaxAge.
	MaxAge time.Duration
	// Skew is how far in the future a created time may be; 0 means
	// DefaultSkew.
	Skew time.Duration
	// Nonces remembers accepted nonces; nil means a MemoryNonceCache of
	// DefaultNonceCacheSize owned by this Verifier.
	Nonces NonceCache
	// TargetURI returns the absolute URI the client addressed; nil means
	// ServerTargetURI. Set it behind a TLS-terminating proxy.
	TargetURI func(r *http.Request) string

	once   sync.Once
	nonces NonceCache
}

// signature is one parsed signature: its label, covered components and
// parameters, and signature bytes.
type signature struct {
	label      string
	input      httpsfv.InnerList
	components []string
	sig        []byte
	created    int64
	expires    int64
	hasExpires bool
	keyID      string
	alg        string
	nonce      string
}

// Verify checks the signature of req, whose content is body, and returns
// the key id that signed it. The signature (label "sig1", or else the first
// one in Signature-Input) must cover "@method" and "@target-uri", and also
// "content-digest" when there is a body and "content-type" when the request
// has one; it must have created, keyid and nonce parameters, and alg, when
// present, must be "ed25519". On an error, keyID is the key id the request
// claims when its signature fields parse, for logs only: it is unverified.
func (v *Verifier) Verify(ctx context.Context, req *http.Request, body []byte) (keyID string, err error) {
	v.once.Do(func() {
		v.nonces = v.Nonces
		if v.nonces == nil {
			v.nonces = NewMemoryNonceCache(0)
		}
	})
	sig, err := parseSignature(req.Header.Values("Signature-Input"), req.Header.Values("Signature"))
	if err != nil {
		return "", err
	}
	if err := sig.checkCoverage(req, body); err != nil {
		return sig.keyID, err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	maxAge, skew := v.MaxAge, v.Skew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	created := time.Unix(sig.created, 0)
	switch {
	case created.After(now.Add(skew)):
		return sig.keyID, fmt.Errorf("%w: created %s is in the future", ErrExpired, created.UTC().Format(time.RFC3339))
	case now.Sub(created) > maxAge:
		return sig.keyID, fmt.Errorf("%w: created %s is more than %s ago", ErrExpired, created.UTC().Format(time.RFC3339), maxAge)
	case sig.hasExpires && now.After(time.Unix(sig.expires, 0)):
		return sig.keyID, fmt.Errorf("%w: expired at %s", ErrExpired, time.Unix(sig.expires, 0).UTC().Format(time.RFC3339))
	}
	if sig.covers("content-digest") {
		if err := checkContentDigest(req.Header.Values("Content-Digest"), body); err != nil {
			return sig.keyID, err
		}
	}

	targetURI := ServerTargetURI
	if v.TargetURI != nil {
		targetURI = v.TargetURI
	}
	target, err := normalizeTarget(targetURI(req))
	if err != nil {
		return sig.keyID, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	m := &message{method: req.Method, target: target, header: req.Header}
	base, err := m.signatureBase(sig.input)
	if err != nil {
		return sig.keyID, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}

	if v.Resolve == nil {
		return sig.keyID, fmt.Errorf("%w: the verifier has no Resolve function", ErrUnknownKey)
	}
	pub, err := v.Resolve(ctx, sig.keyID)
	if err != nil {
		return sig.keyID, fmt.Errorf("%w: %s: %w", ErrUnknownKey, sig.keyID, err)
	}
	if !verifyEd25519(pub, base, sig.sig) {
		refreshed := false
		if v.Refresh != nil {
			if fresh, err := v.Refresh(ctx, sig.keyID); err == nil && verifyEd25519(fresh, base, sig.sig) {
				refreshed = true
			}
		}
		if !refreshed {
			return sig.keyID, fmt.Errorf("%w: signature %s does not verify with key %s", ErrBadSignature, sig.label, sig.keyID)
		}
	}

	// Remember the nonce only once the signature is known to be good, so
	// nobody can burn another signer's nonces. Past created+maxAge the time
	// checks above refuse the signature anyway.
	until := created.Add(maxAge + time.Second)
	fresh, err := v.nonces.Add(ctx, sig.keyID+" "+sig.nonce, now, until)
	if err != nil {
		return sig.keyID, fmt.Errorf("httpsig: remembering the nonce: %w", err)
	}
	if !fresh {
		return sig.keyID, fmt.Errorf("%w: nonce %q of key %s was seen before", ErrReplay, sig.nonce, sig.keyID)
	}
	return sig.keyID, nil
}

func verifyEd25519(pub ed25519.PublicKey, base string, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, []byte(base), sig)
}

// parseSignature parses the Signature-Input and Signature field lines and
// picks the signature to verify: label "sig1" when present, otherwise the
// first member of Signature-Input.
func parseSignature(inputLines, sigLines []string) (*signature, error) {
	if len(inputLines) == 0 || len(sigLines) == 0 {
		return nil, ErrNoSignature
	}
	inputs, err := parseDictionary(strings.Join(inputLines, ", "))
	if err != nil {
		return nil, fmt.Errorf("%w: Signature-Input: %w", ErrBadSignature, err)
	}
	sigs, err := parseDictionary(strings.Join(sigLines, ", "))
	if err != nil {
		return nil, fmt.Errorf("%w: Signature: %w", ErrBadSignature, err)
	}
	label := Label
	in, ok := inputs.Get(label)
	if !ok {
		label = inputs.Names()[0] // parseDictionary refuses an empty one
		in, _ = inputs.Get(label)
	}
	sm, ok := sigs.Get(label)
	if !ok {
		return nil, fmt.Errorf("%w: Signature has no member %q", ErrBadSignature, label)
	}
	list, ok := in.(httpsfv.InnerList)
	if !ok {
		return nil, fmt.Errorf("%w: Signature-Input member %q is not an inner list", ErrBadSignature, label)
	}
	sigItem, isItem := sm.(httpsfv.Item)
	raw, isBytes := sigItem.Value.([]byte)
	if !isItem || !isBytes {
		return nil, fmt.Errorf("%w: Signature member %q is not a byte sequence", ErrBadSignature, label)
	}
	s := &signature{label: label, input: list, sig: raw}
	for _, it := range list.Items {
		c, ok := it.Value.(string)
		if !ok {
			return nil, fmt.Errorf("%w: a covered component is not a string", ErrBadSignature)
		}
		s.components = append(s.components, c)
	}
	return s, s.readParams()
}

// readParams reads and checks the signature parameters.
func (s *signature) readParams() error {
	ps := s.input.Params
	if ps == nil {
		ps = httpsfv.NewParams()
	}
	str := func(key string) (string, bool, error) {
		v, ok := ps.Get(key)
		if !ok {
			return "", false, nil
		}
		text, isString := v.(string)
		if !isString {
			return "", true, fmt.Errorf("%w: parameter %s is not a string", ErrBadSignature, key)
		}
		return text, true, nil
	}
	v, _ := ps.Get("created")
	created, ok := v.(int64)
	if !ok {
		return fmt.Errorf("%w: no integer created parameter", ErrBadSignature)
	}
	s.created = created
	if v, present := ps.Get("expires"); present {
		exp, isInt := v.(int64)
		if !isInt || exp < created {
			return fmt.Errorf("%w: expires is not an integer at or after created", ErrBadSignature)
		}
		s.expires, s.hasExpires = exp, true
	}
	var err error
	if s.keyID, ok, err = str("keyid"); err != nil {
		return err
	}
	if !ok || s.keyID == "" || len(s.keyID) > maxKeyIDLen {
		return fmt.Errorf("%w: keyid missing, empty or too long", ErrBadSignature)
	}
	if s.nonce, ok, err = str("nonce"); err != nil {
		return err
	}
	if !ok || s.nonce == "" || len(s.nonce) > maxNonceLen {
		return fmt.Errorf("%w: nonce missing, empty or too long", ErrBadSignature)
	}
	if s.alg, ok, err = str("alg"); err != nil {
		return err
	}
	if ok && s.alg != Algorithm {
		return fmt.Errorf("%w: alg %q is not %q", ErrBadSignature, s.alg, Algorithm)
	}
	return nil
}

func (s *signature) covers(name string) bool {
	for _, c := range s.components {
		if c == name {
			return true
		}
	}
	return false
}

// checkCoverage checks that the signature covers what Verify requires.
func (s *signature) checkCoverage(req *http.Request, body []byte) error {
	required := []string{"@method", "@target-uri"}
	if len(body) > 0 || len(req.Header.Values("Content-Digest")) > 0 {
		required = append(required, "content-digest")
	}
	if len(req.Header.Values("Content-Type")) > 0 {
		required = append(required, "content-type")
	}
	for _, c := range required {
		if !s.covers(c) {
			return fmt.Errorf("%w: signature %s does not cover %q", ErrBadSignature, s.label, c)
		}
	}
	return nil
}
