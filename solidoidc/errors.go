package solidoidc

import (
	"errors"
	"strings"
)

// Reason is why a request's token or proof was refused: one of a fixed
// set, usable as a metrics label.
type Reason string

// Reasons of an *Error.
const (
	ReasonBearer          Reason = "bearer_token"          // Authorization: Bearer, not DPoP
	ReasonMalformed       Reason = "malformed_request"     // unreadable Authorization, no or several proofs
	ReasonProofMalformed  Reason = "proof_malformed"       // proof not a JWS, bad typ, no jwk, private jwk, no jti
	ReasonProofAlg        Reason = "proof_alg"             // proof alg none, symmetric or unsupported
	ReasonProofSignature  Reason = "proof_signature"       // proof signature does not verify with its jwk
	ReasonProofMethod     Reason = "proof_htm"             // htm is not the request method
	ReasonProofURL        Reason = "proof_htu"             // htu is not the request URL
	ReasonProofTime       Reason = "proof_iat"             // iat missing or outside the window
	ReasonProofReplay     Reason = "proof_replay"          // jti seen before
	ReasonProofATH        Reason = "proof_ath"             // ath not the token's hash
	ReasonTokenMalformed  Reason = "token_malformed"       // token not a JWS, claims unreadable
	ReasonTokenAlg        Reason = "token_alg"             // token alg none, symmetric or unsupported
	ReasonTokenIssuer     Reason = "token_issuer"          // iss missing, not https, discovery mismatch
	ReasonIssuerKeys      Reason = "issuer_keys"           // discovery or JWKS cannot be fetched or read
	ReasonTokenSignature  Reason = "token_signature"       // no key of the issuer verifies the token
	ReasonTokenAudience   Reason = "token_audience"        // aud does not include "solid"
	ReasonTokenExpired    Reason = "token_expired"         // exp missing or past, iat or nbf in the future
	ReasonTokenWebID      Reason = "token_webid"           // webid claim missing or not https
	ReasonTokenBinding    Reason = "token_binding"         // cnf.jkt missing or not the proof key's thumbprint
	ReasonIssuerNotListed Reason = "issuer_not_in_profile" // the WebID's profile does not name iss
	ReasonProfile         Reason = "profile_unavailable"   // the WebID's profile cannot be fetched or read
)

// OAuth error codes of a challenge (RFC 6750, RFC 9449).
const (
	CodeInvalidToken   = "invalid_token"
	CodeInvalidProof   = "invalid_dpop_proof"
	CodeInvalidRequest = "invalid_request"
)

// Error is a refused token or proof. Description is for the client (no
// token, no secret); Err is the internal cause, for logs.
type Error struct {
	// Code is the OAuth error code: CodeInvalidToken, CodeInvalidProof
	// or CodeInvalidRequest.
	Code string
	// Reason is the metrics label.
	Reason Reason
	// Description is the error_description sent to the client.
	Description string
	// Err is the cause, or nil.
	Err error
}

// Error returns the description and the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return "solidoidc: " + e.Description + ": " + e.Err.Error()
	}
	return "solidoidc: " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func tokenErr(r Reason, desc string, cause error) *Error {
	return &Error{Code: CodeInvalidToken, Reason: r, Description: desc, Err: cause}
}

func proofErr(r Reason, desc string, cause error) *Error {
	return &Error{Code: CodeInvalidProof, Reason: r, Description: desc, Err: cause}
}

// ReasonOf returns the Reason of an *Error in err's chain, or "".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Challenge returns the WWW-Authenticate value of a 401: the DPoP scheme
// with the algorithms accepted for proofs, and, when err is an *Error, its
// error code and description. asURI, when not empty, is added as as_uri
// (the authorization server the client may use, as Solid-OIDC asks).
func Challenge(err error, asURI string) string {
	var b strings.Builder
	b.WriteString(`DPoP algs="`)
	for i, a := range Algs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(a))
	}
	b.WriteByte('"')
	var e *Error
	if errors.As(err, &e) {
		b.WriteString(`, error="` + quotable(e.Code) + `", error_description="` + quotable(e.Description) + `"`)
	}
	if asURI != "" {
		b.WriteString(`, as_uri="` + quotable(asURI) + `"`)
	}
	return b.String()
}

// quotable keeps the characters RFC 6750 allows in error and
// error_description values (printable ASCII without '"' and '\').
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
