package httpsig

import "errors"

// Errors of Verifier.Verify, each wrapped with details. An inbox answers
// all of them with 401, except a failing key lookup that is not a plain
// "no such key" (errors.Is(err, ErrUnknownKey) and the resolver's own error
// are both in the chain, so the caller can tell a network failure apart).
var (
	// ErrNoSignature: the request has no Signature-Input or Signature.
	ErrNoSignature = errors.New("httpsig: request is not signed")
	// ErrBadSignature: the signature fields are malformed, do not cover the
	// required components, or the signature does not verify.
	ErrBadSignature = errors.New("httpsig: bad signature")
	// ErrExpired: the signature is too old, past its expires time, or
	// created in the future.
	ErrExpired = errors.New("httpsig: signature expired or not yet valid")
	// ErrReplay: a signature with the same key id and nonce was accepted
	// before.
	ErrReplay = errors.New("httpsig: replayed signature")
	// ErrDigestMismatch: Content-Digest is missing, malformed or does not
	// match the body.
	ErrDigestMismatch = errors.New("httpsig: content digest mismatch")
	// ErrUnknownKey: Resolve found no usable key for the key id.
	ErrUnknownKey = errors.New("httpsig: unknown key")
)

// ErrSign is wrapped by the errors of Signer.Sign.
var ErrSign = errors.New("httpsig: cannot sign")

// ErrBadKey is wrapped by the errors of the key parsers.
var ErrBadKey = errors.New("httpsig: malformed public key")
