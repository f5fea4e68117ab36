package solidoidc

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"podserver/netguard"
)

// Algs are the signature algorithms accepted for proofs and access
// tokens: asymmetric only (never none, never HS*).
var Algs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512,
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// Audience is the aud value a Solid-OIDC access token must include.
const Audience = "solid"

// Defaults of Config.
const (
	DefaultClockSkew        = 60 * time.Second
	DefaultProofMaxAge      = 2 * time.Minute
	DefaultKeysTTL          = 10 * time.Minute
	DefaultKeysErrorTTL     = 5 * time.Second
	DefaultKeysMaxStale     = 24 * time.Hour
	DefaultMinRefresh       = 30 * time.Second
	DefaultMaxIssuers       = 256
	DefaultMaxDocumentBytes = 64 << 10
	DefaultFetchTimeout     = 10 * time.Second
	// MaxJTILen bounds a proof's jti.
	MaxJTILen = 256
)

// NonceCache remembers proof ids (jti) for their window; replay.Nonces
// implements it.
type NonceCache interface {
	// Add records key until the time until and reports true, or reports
	// false when key is recorded and not expired at now.
	Add(ctx context.Context, key string, now, until time.Time) (bool, error)
}

// IssuersFunc returns the solid:oidcIssuer values of a WebID's profile.
// With refresh, the caller asks for a fresh copy of the profile (the
// issuer it needs is missing from the cached one); the function may still
// answer from its cache if it fetched the profile very recently.
type IssuersFunc func(ctx context.Context, webID string, refresh bool) ([]string, error)

// Config configures a Verifier. Fetcher, Nonces and Issuers are required;
// zero durations and sizes take the defaults.
type Config struct {
	// Fetcher fetches issuers' discovery documents and JWKS; share the
	// server's one, so its concurrency and failure bounds hold for every
	// document a request can make the server fetch.
	Fetcher *netguard.Fetcher
	// Nonces keeps the jti of accepted proofs.
	Nonces NonceCache
	// Issuers reads the issuers a WebID's profile names.
	Issuers IssuersFunc
	// LocalKeys, when set, returns the signing keys of an issuer the
	// server runs itself (ok true), read without a fetch, so its own
	// tokens verify whatever network policy the Fetcher has; ok false
	// sends any other issuer to discovery and JWKS.
	LocalKeys func(ctx context.Context, iss string) (keys []jose.JSONWebKey, ok bool, err error)
	// ClockSkew is the tolerance on exp, iat and nbf, and how far in the
	// future a proof's iat may be.
	ClockSkew time.Duration
	// ProofMaxAge is how old a proof's iat may be; its jti is remembered
	// as long.
	ProofMaxAge time.Duration
	// KeysTTL is how long an issuer's keys are used before refetching.
	KeysTTL time.Duration
	// KeysErrorTTL is how long a failed key fetch is remembered.
	KeysErrorTTL time.Duration
	// KeysMaxStale is how long after their last successful fetch an
	// issuer's keys are still used when refetching them fails (the issuer
	// is down, or a forged token forced a refetch): a failed fetch never
	// replaces good keys younger than this.
	KeysMaxStale time.Duration
	// MinRefresh is the least time between two key fetches of one issuer
	// forced by a token whose kid is not among its cached keys (rotation).
	MinRefresh time.Duration
	// MaxIssuers bounds the issuers whose keys are cached.
	MaxIssuers int
	// MaxDocumentBytes bounds a discovery document or JWKS.
	MaxDocumentBytes int64
	// FetchTimeout bounds one discovery and JWKS fetch.
	FetchTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier authenticates Solid-OIDC requests. It is safe for concurrent
// use.
type Verifier struct {
	cfg  Config
	keys *keyCache
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.Fetcher == nil || cfg.Nonces == nil || cfg.Issuers == nil {
		return nil, errors.New("solidoidc: Config needs a Fetcher, Nonces and Issuers")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ClockSkew, DefaultClockSkew)
	def(&cfg.ProofMaxAge, DefaultProofMaxAge)
	def(&cfg.KeysTTL, DefaultKeysTTL)
	def(&cfg.KeysErrorTTL, DefaultKeysErrorTTL)
	def(&cfg.KeysMaxStale, DefaultKeysMaxStale)
	def(&cfg.MinRefresh, DefaultMinRefresh)
	def(&cfg.FetchTimeout, DefaultFetchTimeout)
	if cfg.MaxIssuers <= 0 {
		cfg.MaxIssuers = DefaultMaxIssuers
	}
	if cfg.MaxDocumentBytes <= 0 {
		cfg.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg}
	v.keys = newKeyCache(&v.cfg)
	return v, nil
}

// Identity is what a verified request's token asserts.
type Identity struct {
	// WebID is the agent.
	WebID string
	// ClientID is the token's client_id claim: the app acting for the
	// agent ("" when the token has none).
	ClientID string
	// Issuer is the token's iss.
	Issuer string
	// Expiry is the token's exp.
	Expiry time.Time
	// JKT is the thumbprint of the key the token is bound to.
	JKT string
	// TokenID is the token's jti ("" when it has none): an issuer that
	// keeps its tokens' state (this server's, package idp) checks it.
	TokenID string
}

// HasToken reports whether r carries a Solid-OIDC token, that is an
// Authorization header with the DPoP or Bearer scheme (Bearer only to be
// refused): the requests Verify is for.
func HasToken(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "DPoP") || strings.EqualFold(scheme, "Bearer")
}

// tokenClaims are the claims read from an access token.
type tokenClaims struct {
	jwt.Claims
	WebID    string `json:"webid"`
	ClientID string `json:"client_id"`
	Cnf      *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// proofClaims are the claims read from a DPoP proof.
type proofClaims struct {
	jwt.Claims
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	ATH string `json:"ath"`
}

// Verify authenticates r, whose URL as the client addressed it (scheme
// and host of this server, path; query ignored) is requestURL. It returns
// the token's identity, an *Error for a refused token or proof, or
// another error when the check could not be made (the store failed, the
// fetch limits were reached: netguard.ErrBusy in the chain).
func (v *Verifier) Verify(ctx context.Context, r *http.Request, requestURL string) (*Identity, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return nil, &Error{Code: CodeInvalidToken, Reason: ReasonBearer, Description: "only DPoP-bound tokens are accepted: send Authorization: DPoP with a DPoP proof"}
	case !strings.EqualFold(scheme, "DPoP") || token == "":
		return nil, &Error{Code: CodeInvalidRequest, Reason: ReasonMalformed, Description: "the Authorization header is not DPoP <token>"}
	}
	proof, err := oneProof(r)
	if err != nil {
		return nil, err
	}
	now := v.cfg.Now()
	pc, jkt, err := v.checkProof(proof, r.Method, requestURL, token, now)
	if err != nil {
		return nil, err
	}
	id, err := v.checkToken(ctx, token, jkt, now)
	if err != nil {
		return nil, err
	}
	// Last, as it writes to the store: only a request that passed every
	// other check records its jti.
	if err := v.recordProof(ctx, pc, jkt, now); err != nil {
		return nil, err
	}
	return id, nil
}

// VerifyProof checks the DPoP proof of a request that carries no access
// token (a token endpoint's, RFC 9449 section 5): the same checks as
// Verify's, without ath, and the same replay cache. It returns the RFC
// 7638 thumbprint of the proof's key, to which the issued tokens are bound.
func (v *Verifier) VerifyProof(ctx context.Context, r *http.Request, requestURL string) (string, error) {
	proof, err := oneProof(r)
	if err != nil {
		return "", err
	}
	now := v.cfg.Now()
	pc, jkt, err := v.checkProof(proof, r.Method, requestURL, "", now)
	if err != nil {
		return "", err
	}
	if err := v.recordProof(ctx, pc, jkt, now); err != nil {
		return "", err
	}
	return jkt, nil
}

// oneProof returns r's DPoP proof, refusing none or several.
func oneProof(r *http.Request) (string, error) {
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 || strings.Contains(proofs[0], ",") {
		return "", &Error{Code: CodeInvalidProof, Reason: ReasonMalformed, Description: "send exactly one DPoP proof header"}
	}
	return proofs[0], nil
}

// recordProof records the proof's jti for its window, refusing a replay.
func (v *Verifier) recordProof(ctx context.Context, pc *proofClaims, jkt string, now time.Time) error {
	until := pc.IssuedAt.Time().Add(v.cfg.ProofMaxAge + time.Second)
	fresh, err := v.cfg.Nonces.Add(ctx, "dpop "+jkt+" "+pc.ID, now, until)
	if err != nil {
		return fmt.Errorf("solidoidc: record proof id: %w", err)
	}
	if !fresh {
		return proofErr(ReasonProofReplay, "the DPoP proof was used before: make a new proof for each request", nil)
	}
	return nil
}

// checkProof verifies the DPoP proof and returns its claims and the
// thumbprint of its key. An empty token skips the ath check (VerifyProof).
func (v *Verifier) checkProof(proof, method, requestURL, token string, now time.Time) (*proofClaims, string, error) {
	jws, err := jwt.ParseSigned(proof, Algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, "", proofErr(ReasonProofAlg, "the DPoP proof's alg is not one of the accepted asymmetric algorithms", err)
		}
		return nil, "", proofErr(ReasonProofMalformed, "the DPoP proof is not a signed JWT", err)
	}
	h := jws.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return nil, "", proofErr(ReasonProofMalformed, "the DPoP proof's typ is not dpop+jwt", nil)
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return nil, "", proofErr(ReasonProofMalformed, "the DPoP proof has no public jwk header", nil)
	}
	var pc proofClaims
	if err := jws.Claims(h.JSONWebKey.Key, &pc); err != nil {
		return nil, "", proofErr(ReasonProofSignature, "the DPoP proof's signature does not verify with its jwk", err)
	}
	if pc.ID == "" || len(pc.ID) > MaxJTILen {
		return nil, "", proofErr(ReasonProofMalformed, "the DPoP proof has no usable jti", nil)
	}
	if pc.HTM != method {
		return nil, "", proofErr(ReasonProofMethod, "the DPoP proof's htm is not the request method", nil)
	}
	got, ok1 := normalizeHTU(pc.HTU)
	want, ok2 := normalizeHTU(requestURL)
	if !ok1 || !ok2 || got != want {
		return nil, "", proofErr(ReasonProofURL, "the DPoP proof's htu is not the request URL", nil)
	}
	if pc.IssuedAt == nil {
		return nil, "", proofErr(ReasonProofTime, "the DPoP proof has no iat", nil)
	}
	if iat := pc.IssuedAt.Time(); iat.After(now.Add(v.cfg.ClockSkew)) || iat.Before(now.Add(-v.cfg.ProofMaxAge)) {
		return nil, "", proofErr(ReasonProofTime, "the DPoP proof's iat is outside the accepted window", nil)
	}
	// ath is checked when present. RFC 9449 requires it towards a
	// resource server, but the Inrupt client libraries (4.x and 5.x)
	// never send it, and Community Solid Server accepts proofs without
	// it; the proof is still bound to the token's key (cnf.jkt), to the
	// request (htm, htu, iat) and used once (jti).
	if token != "" && pc.ATH != "" {
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare([]byte(pc.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return nil, "", proofErr(ReasonProofATH, "the DPoP proof's ath is not the access token's hash", nil)
		}
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", proofErr(ReasonProofMalformed, "the DPoP proof's jwk has no thumbprint", err)
	}
	return &pc, base64.RawURLEncoding.EncodeToString(tp), nil
}

// checkToken verifies the access token and that it is bound to jkt.
func (v *Verifier) checkToken(ctx context.Context, token, jkt string, now time.Time) (*Identity, error) {
	jws, err := jwt.ParseSigned(token, Algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, tokenErr(ReasonTokenAlg, "the access token's alg is not one of the accepted asymmetric algorithms", err)
		}
		return nil, tokenErr(ReasonTokenMalformed, "the access token is not a signed JWT", err)
	}
	var unverified tokenClaims
	if err := jws.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, tokenErr(ReasonTokenMalformed, "the access token's claims are unreadable", err)
	}
	iss := unverified.Issuer
	if iss == "" {
		return nil, tokenErr(ReasonTokenIssuer, "the access token has no iss", nil)
	}
	if err := CheckSecureURL(iss); err != nil {
		return nil, tokenErr(ReasonTokenIssuer, "the access token's issuer must be https (http only on loopback)", err)
	}
	// Claims that need no key first: a token that cannot pass costs no
	// fetch.
	if err := v.checkClaims(&unverified, jkt, now); err != nil {
		return nil, err
	}
	tc, err := v.verifySignature(ctx, jws, iss)
	if err != nil {
		return nil, err
	}
	// The verified claims, checked again: the unverified ones may only
	// have differed if the signature were broken, but never trust them.
	if err := v.checkClaims(tc, jkt, now); err != nil {
		return nil, err
	}
	if tc.Issuer != iss {
		return nil, tokenErr(ReasonTokenIssuer, "the access token's issuer changed", nil)
	}
	if err := v.checkProfile(ctx, tc.WebID, iss); err != nil {
		return nil, err
	}
	return &Identity{WebID: tc.WebID, ClientID: tc.ClientID, Issuer: iss, Expiry: tc.Expiry.Time(), JKT: jkt, TokenID: tc.ID}, nil
}

// checkClaims checks aud, the times, webid and cnf.jkt.
func (v *Verifier) checkClaims(tc *tokenClaims, jkt string, now time.Time) error {
	if !slices.Contains(tc.Audience, Audience) {
		return tokenErr(ReasonTokenAudience, `the access token's aud does not include "solid"`, nil)
	}
	skew := v.cfg.ClockSkew
	switch {
	case tc.Expiry == nil:
		return tokenErr(ReasonTokenExpired, "the access token has no exp", nil)
	case !now.Before(tc.Expiry.Time().Add(skew)):
		return tokenErr(ReasonTokenExpired, "the access token has expired", nil)
	case tc.IssuedAt != nil && tc.IssuedAt.Time().After(now.Add(skew)):
		return tokenErr(ReasonTokenExpired, "the access token's iat is in the future", nil)
	case tc.NotBefore != nil && tc.NotBefore.Time().After(now.Add(skew)):
		return tokenErr(ReasonTokenExpired, "the access token is not valid yet (nbf)", nil)
	}
	if tc.WebID == "" {
		return tokenErr(ReasonTokenWebID, "the access token has no webid claim", nil)
	}
	if err := CheckSecureURL(tc.WebID); err != nil {
		return tokenErr(ReasonTokenWebID, "the access token's webid must be https (http only on loopback)", err)
	}
	if tc.Cnf == nil || tc.Cnf.JKT == "" {
		return tokenErr(ReasonTokenBinding, "the access token is not DPoP-bound (no cnf.jkt)", nil)
	}
	if subtle.ConstantTimeCompare([]byte(tc.Cnf.JKT), []byte(jkt)) != 1 {
		return tokenErr(ReasonTokenBinding, "the access token is bound to another key than the DPoP proof's", nil)
	}
	return nil
}

// maxKeylessTries bounds the keys a token without a kid is checked with:
// each check of an RSA signature costs CPU, and the issuer, maybe the
// sender itself, chose the keys.
const maxKeylessTries = 2

// verifySignature checks the token's signature with the issuer's keys,
// refetching them once (at most every MinRefresh) when none verifies: the
// issuer may have rotated its keys. A token with a kid is checked with
// the key of that kid only; one without, with at most maxKeylessTries
// keys that may sign with its algorithm.
func (v *Verifier) verifySignature(ctx context.Context, jws *jwt.JSONWebToken, iss string) (*tokenClaims, error) {
	kid, alg := jws.Headers[0].KeyID, jws.Headers[0].Algorithm
	ik := v.keys.get(ctx, iss, false)
	for attempt := 0; ; attempt++ {
		if ik.err != nil {
			if errors.Is(ik.err, netguard.ErrBusy) {
				return nil, fmt.Errorf("solidoidc: %w", ik.err)
			}
			return nil, tokenErr(ReasonIssuerKeys, "the issuer's keys cannot be fetched", ik.err)
		}
		tries := 0
		for _, k := range ik.keys {
			if (kid != "" && k.KeyID != kid) || (kid == "" && k.Algorithm != "" && k.Algorithm != alg) {
				continue
			}
			if tries++; kid == "" && tries > maxKeylessTries {
				break
			}
			var tc tokenClaims
			if jws.Claims(k.Key, &tc) == nil {
				return &tc, nil
			}
		}
		if attempt > 0 || v.cfg.Now().Sub(ik.fetched) < v.cfg.MinRefresh {
			return nil, tokenErr(ReasonTokenSignature, "no key of the issuer verifies the access token", nil)
		}
		ik = v.keys.get(ctx, iss, true)
	}
}

// checkProfile checks that the WebID's profile names iss.
func (v *Verifier) checkProfile(ctx context.Context, webID, iss string) error {
	for _, refresh := range []bool{false, true} {
		list, err := v.cfg.Issuers(ctx, webID, refresh)
		if err != nil {
			if errors.Is(err, netguard.ErrBusy) {
				return fmt.Errorf("solidoidc: %w", err)
			}
			return tokenErr(ReasonProfile, "the WebID's profile cannot be read", err)
		}
		if slices.ContainsFunc(list, func(s string) bool { return sameIssuer(s, iss) }) {
			return nil
		}
	}
	return tokenErr(ReasonIssuerNotListed, "the WebID's profile does not name the token's issuer (solid:oidcIssuer)", nil)
}
