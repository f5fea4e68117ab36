// Package httpsig signs and verifies HTTP requests with HTTP Message
// Signatures (RFC 9421) using Ed25519, and computes and checks their
// Content-Digest (RFC 9530). Pods use it to sign the Linked Data
// Notifications they POST to inboxes on other servers, and inboxes use it to
// verify them.
//
// A signature made by Signer has the label "sig1" and covers
//
//	"@method" "@target-uri" "content-digest" "content-type"
//
// (content-digest only when there is a body, content-type only when the
// request has one), with the parameters created, expires (created + 5m),
// keyid, alg="ed25519" and a random nonce. Verifier requires the same
// coverage, checks the times, the digest and the nonce (replay), and the
// Ed25519 signature against the key its Resolve function finds for the
// key id.
//
// Public keys are published as Multikey values (PublicKeyMultibase) or JSON
// Web Keys (PublicKeyJWK).
//
// Structured field values (RFC 8941) are parsed and serialised by
// github.com/dunglas/httpsfv, behind the checks of sfv.go: a size limit on
// every field before it is parsed, and RFC 8941's types only. RFC 9421
// itself (the signature base, coverage and time policy) is ours.
//
// This package must not import any other podserver package.
package httpsig
