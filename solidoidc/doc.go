// Package solidoidc is the resource-server side of Solid-OIDC: it
// authenticates a request carrying a DPoP-bound access token
// (Authorization: DPoP <token>) and a DPoP proof (RFC 9449), the way
// Community Solid Server and the Inrupt client libraries use them, and
// returns the WebID and client id the token asserts.
//
// # Checks
//
// Verify checks, in this order (the cheap and local ones first, so a
// forged request costs no fetch and no store write):
//
//   - the Authorization scheme is DPoP (Bearer is refused) and there is
//     exactly one DPoP proof;
//   - the proof is a JWS with typ dpop+jwt, an asymmetric alg (Algs), a
//     public jwk header whose key verifies its signature, htm equal to the
//     request method, htu equal to the request URL without query and
//     fragment (after syntax normalization), iat within
//     [now-ProofMaxAge, now+ClockSkew], a jti, and ath equal to the
//     base64url SHA-256 of the access token;
//   - the access token is a JWS with an asymmetric alg whose iss is an
//     https URL (or loopback/localhost), signed by a key of the issuer's
//     JWKS (found by OpenID discovery, cached, fetched through a
//     netguard.Fetcher), with aud including "solid", exp and iat valid
//     within ClockSkew, a webid claim (https, or loopback/localhost) and
//     cnf.jkt equal to the RFC 7638 thumbprint of the proof's key;
//   - the WebID's profile names the issuer (solid:oidcIssuer);
//   - the proof's jti was not seen in its window (Config.Nonces, which
//     the server keeps in its store, so replay is refused after a restart
//     and across nodes).
//
// A failed check is an *Error with an OAuth error code, a Reason (a small
// fixed set, for metrics) and a description for the client; Challenge
// formats the WWW-Authenticate header. Neither ever holds a token.
//
// This package imports podserver/netguard and no other podserver package;
// the WebID profile and the replay cache come in through Config.
package solidoidc
