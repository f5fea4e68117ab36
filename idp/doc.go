// Package idp is podserver's Solid-OIDC identity provider for the pods it
// hosts: one issuer per server (the base URL with a trailing slash), built
// on zitadel/oidc's op package (discovery, authorize, token, PKCE,
// refresh, revocation, end session, userinfo, JWKS) and go-jose.
//
// # What it adds to op
//
//   - DPoP (RFC 9449) at the token endpoint: the proof is checked by
//     solidoidc.Verifier.VerifyProof before op sees the request; its key's
//     thumbprint travels in the context to the storage, so access tokens
//     carry cnf.jkt, refresh tokens of public clients are bound to it, and
//     the answer says token_type DPoP. A request without a proof is
//     refused with invalid_dpop_proof.
//   - Access tokens are ES256 JWTs with aud ["solid", client_id], webid,
//     client_id and jti; ID tokens carry webid and sub = WebID.
//   - Dynamic registration (RFC 7591, /.oidc/reg), Client ID Documents (a
//     client_id that is an https or loopback URL, fetched through netguard,
//     JSON-LD, client_id equal to its URL, cached five minutes) and
//     client-credentials clients of a pod (acting as its WebID).
//   - The login page (pod name with owner key or password, argon2id) and
//     the consent page, in the console's style and headers, CSRF-safe (a
//     per-auth-request token in the form and in a SameSite=Strict cookie),
//     with failed logins limited per pod and per client address (an IPv6
//     address by its /64), counted in the store so that every node sees
//     the same counts. An app the owner allowed before for the same WebID
//     and no fewer scopes is not asked again (unless it sends
//     prompt=consent); withdrawing it asks again.
//   - A code exchanged twice revokes the tokens its first exchange gave
//     (the tokens of an auth request form the family named by its id).
//   - The userinfo endpoint checks the token and its DPoP proof as the
//     resource server does (ProofVerifier.Verify) and refuses Bearer.
//
// # State
//
// Everything lives in the server's store under Prefix (store.PrefixIDP),
// so nodes sharing a PostgreSQL store act as one issuer and a restart
// loses nothing: signing keys (rotated after KeyLifetime; a new key is
// published KeyPublishAhead before it signs; an old one stays published
// until the tokens it signed expired), auth requests, single-use codes
// (hashed), refresh tokens (hashed; rotated on use; the reuse of a rotated
// one revokes its family), access-token records (by jti), clients,
// consents, passwords, failed-login counters and "cuts" (every token of a
// client for a pod issued before a logout, a withdrawn consent or a
// deleted client is revoked).
//
// Records that stop mattering at a known time (auth requests, codes,
// access-token records, refresh tokens used or not, revoked families,
// cuts, counters) are indexed by that time ("I" "x", written in the same
// transaction) and deleted by Sweep, which RunSweeper runs periodically
// in bounded batches; several nodes sweeping at once is harmless.
//
// CheckToken is the resource server's check of this issuer's tokens: it
// reads the store on every request, so revocation applies at once on
// every node. It returns the token's Grant, which what outlives the
// request (a notification channel) keeps and checks with CheckGrant.
//
// Logs and metrics never hold a token, code, password or secret.
package idp
