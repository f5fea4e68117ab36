package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"podserver/solidoidc"
	"podserver/store"
)

// authTTL is how long an auth request (login, consent, code) lives.
const authTTL = 10 * time.Minute

// errNotFound is a lookup that found nothing (op's "not found").
type notFound struct{ what string }

func (e notFound) Error() string { return "idp: " + e.what + " not found" }
func (notFound) IsNotFound()     {}

// authRequest is a stored authorization request; it is op.AuthRequest.
type authRequest struct {
	ID            string                   `json:"id"`
	ClientID      string                   `json:"client"`
	RedirectURI   string                   `json:"redirect"`
	Scopes        []string                 `json:"scopes"`
	State         string                   `json:"state,omitempty"`
	Nonce         string                   `json:"nonce,omitempty"`
	ResponseType  oidc.ResponseType        `json:"rt"`
	ResponseMode  oidc.ResponseMode        `json:"rm,omitempty"`
	Challenge     string                   `json:"cc"`
	ChallengeMeth oidc.CodeChallengeMethod `json:"ccm"`
	Prompt        []string                 `json:"prompt,omitempty"`
	CSRF          string                   `json:"csrf"`
	Expires       time.Time                `json:"exp"`
	// Set by the login page.
	Pod      string    `json:"pod,omitempty"`
	WebID    string    `json:"webid,omitempty"`
	AuthTime time.Time `json:"authTime,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	// Set by the consent page.
	Consented bool `json:"done,omitempty"`
}

func (a *authRequest) GetID() string                      { return a.ID }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return a.AMR }
func (a *authRequest) GetAudience() []string              { return []string{solidoidc.Audience, a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.WebID }
func (a *authRequest) Done() bool                         { return a.Consented && a.WebID != "" }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: a.ChallengeMeth}
}

// ccRequest is a client-credentials token request: the client acts as
// its pod's WebID.
type ccRequest struct {
	pod, webID, clientID string
	scopes               []string
}

func (c *ccRequest) GetSubject() string    { return c.webID }
func (c *ccRequest) GetAudience() []string { return []string{solidoidc.Audience, c.clientID} }
func (c *ccRequest) GetScopes() []string   { return c.scopes }

// refreshRequest is a refresh token being used; it is
// op.RefreshTokenRequest.
type refreshRequest struct {
	rec  refreshRecord
	hash string
}

func (r *refreshRequest) GetAMR() []string                 { return r.rec.AMR }
func (r *refreshRequest) GetAudience() []string            { return []string{solidoidc.Audience, r.rec.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.rec.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.rec.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.rec.Scopes }
func (r *refreshRequest) GetSubject() string               { return r.rec.WebID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.rec.Scopes = scopes }

// jktKey carries the DPoP key thumbprint of a token request through op
// to the storage.
type jktKey struct{}

func withJKT(ctx context.Context, jkt string) context.Context {
	return context.WithValue(ctx, jktKey{}, jkt)
}

func jktOf(ctx context.Context) string { s, _ := ctx.Value(jktKey{}).(string); return s }

// storage is the provider's op.Storage, over the server's store.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

func (s *storage) st() store.Store { return s.p.cfg.Store }

// CreateAuthRequest stores an authorization request; PKCE (S256) and the
// code flow are required.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("only the authorization code flow (response_type=code) is supported")
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	a := &authRequest{
		ID: randomID(16), ClientID: req.ClientID, RedirectURI: req.RedirectURI, Scopes: req.Scopes,
		State: req.State, Nonce: req.Nonce, ResponseType: req.ResponseType, ResponseMode: req.ResponseMode,
		Challenge: req.CodeChallenge, ChallengeMeth: req.CodeChallengeMethod, CSRF: randomID(24),
		Prompt: req.Prompt, Expires: s.p.now().Add(authTTL),
	}
	err := s.st().Update(ctx, func(tx store.Txn) error {
		if err := putJSON(tx, key(kindAuth, a.ID), a); err != nil {
			return err
		}
		return expiring(tx, key(kindAuth, a.ID), a.Expires)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	var a authRequest
	var ok bool
	err := s.st().View(ctx, func(r store.Reader) (err error) { ok, err = getJSON(r, key(kindAuth, id), &a); return err })
	if err != nil {
		return nil, err
	}
	if !ok || !s.p.now().Before(a.Expires) {
		return nil, notFound{"auth request"}
	}
	return &a, nil
}

// AuthRequestByID returns a live auth request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

// codeRecord is a code (stored under its hash): the auth request it
// answers, and whether it was exchanged. A used code is kept until its
// auth request would have expired, so that a replay is seen.
type codeRecord struct {
	ID      string    `json:"id"`
	Used    bool      `json:"used,omitempty"`
	Expires time.Time `json:"exp"`
}

// AuthRequestByCode consumes code: a code is used once, whatever the
// outcome of the exchange. A code used before is a replay (RFC 6749
// section 4.1.2, RFC 9700 section 4.5.3): every token issued from it is
// revoked (the tokens of an auth request form the family named by its
// id) and the exchange is refused.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var c codeRecord
	replayed := false
	err := s.st().Update(ctx, func(tx store.Txn) error {
		k := key(kindCode, hashed(code))
		ok, err := getJSON(tx, k, &c)
		if err != nil {
			return err
		}
		if !ok {
			return notFound{"code"}
		}
		if c.Used {
			replayed = true
			return s.revokeFamilyTx(tx, c.ID)
		}
		c.Used = true
		return putJSON(tx, k, c)
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		s.p.met.failures.WithLabelValues("code_replay").Inc()
		s.p.log.WarnContext(ctx, "idp: authorization code used twice; the tokens issued from it are revoked")
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was used before: the tokens issued from it are revoked")
	}
	a, err := s.authRequest(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if !a.Done() {
		return nil, notFound{"code"}
	}
	return a, nil
}

// SaveAuthCode stores code's hash for the auth request, until the auth
// request expires.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.st().Update(ctx, func(tx store.Txn) error {
		exp := s.p.now().Add(authTTL)
		var a authRequest
		if ok, err := getJSON(tx, key(kindAuth, id), &a); err != nil {
			return err
		} else if ok {
			exp = a.Expires
		}
		k := key(kindCode, hashed(code))
		if err := putJSON(tx, k, codeRecord{ID: id, Expires: exp}); err != nil {
			return err
		}
		return expiring(tx, k, exp)
	})
}

// DeleteAuthRequest deletes the auth request.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.st().Update(ctx, func(tx store.Txn) error {
		var a authRequest
		ok, err := getJSON(tx, key(kindAuth, id), &a)
		if err != nil || !ok {
			return err
		}
		return deleteExpiring(tx, key(kindAuth, id), a.Expires)
	})
}

// grantOf returns what the token record of req holds.
func (s *storage) grantOf(req op.TokenRequest) (rec tokenRecord, grant string, err error) {
	switch r := req.(type) {
	case *authRequest:
		// The auth request's id names the family of the tokens issued
		// from its code, so a replay of the code revokes them.
		return tokenRecord{Pod: r.Pod, ClientID: r.ClientID, Family: r.ID, Consent: true}, "authorization_code", nil
	case *refreshRequest:
		return tokenRecord{Pod: r.rec.Pod, ClientID: r.rec.ClientID, Family: r.rec.Family, Consent: true}, "refresh_token", nil
	case *ccRequest:
		return tokenRecord{Pod: r.pod, ClientID: r.clientID, CC: true}, "client_credentials", nil
	}
	return tokenRecord{}, "", oidc.ErrUnsupportedGrantType()
}

// putToken records a new access token in tx, until its exp plus the
// resource server's clock skew, and returns its jti.
func (s *storage) putToken(tx store.Txn, rec tokenRecord) (string, error) {
	jti := randomID(16)
	if err := putJSON(tx, key(kindToken, jti), rec); err != nil {
		return "", err
	}
	return jti, expiring(tx, key(kindToken, jti), rec.Expires.Add(skew))
}

// CreateAccessToken records an access token (code flow without
// offline_access, client credentials).
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	if jktOf(ctx) == "" {
		return "", time.Time{}, oidc.ErrInvalidRequest().WithDescription("a DPoP proof is required")
	}
	rec, grant, err := s.grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.p.now()
	rec.Issued, rec.Expires = now, now.Add(s.p.cfg.AccessTokenTTL)
	var jti string
	err = s.st().Update(ctx, func(tx store.Txn) (err error) {
		if err := s.touch(tx, rec, now); err != nil {
			return err
		}
		jti, err = s.putToken(tx, rec)
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.p.met.issued.WithLabelValues(grant).Inc()
	return jti, rec.Expires, nil
}

// CreateAccessAndRefreshTokens records an access token and a refresh
// token: a new family for a code, the next of the family for a refresh
// (the used one is marked rotated).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	jkt := jktOf(ctx)
	if jkt == "" {
		return "", "", time.Time{}, oidc.ErrInvalidRequest().WithDescription("a DPoP proof is required")
	}
	rec, grant, err := s.grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := s.p.now()
	rec.Issued, rec.Expires = now, now.Add(s.p.cfg.AccessTokenTTL)
	var rr refreshRecord
	switch r := req.(type) {
	case *authRequest:
		rr = refreshRecord{Family: r.ID, Pod: r.Pod, WebID: r.WebID, ClientID: r.ClientID, Scopes: r.Scopes,
			AMR: r.AMR, AuthTime: r.AuthTime}
	case *refreshRequest:
		rr = r.rec
		rr.Rotated = false
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	rec.Family = rr.Family
	client, err := s.GetClientByClientID(ctx, rr.ClientID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rr.Public = client.AuthMethod() == oidc.AuthMethodNone
	if rr.Public {
		rr.JKT = jkt
	}
	rr.Issued, rr.Expires = now, now.Add(s.p.cfg.RefreshTokenTTL)
	refresh := secretToken()
	var jti string
	err = s.st().Update(ctx, func(tx store.Txn) error {
		if r, ok := req.(*refreshRequest); ok {
			// Rotation: the used token is kept, marked, so a reuse is
			// seen; a concurrent use of the same token loses here.
			var old refreshRecord
			ok, err := getJSON(tx, key(kindRefresh, r.hash), &old)
			if err != nil {
				return err
			}
			if !ok || old.Rotated {
				return oidc.ErrInvalidGrant().WithDescription("the refresh token was used before")
			}
			old.Rotated = true
			if err := putJSON(tx, key(kindRefresh, r.hash), old); err != nil {
				return err
			}
		}
		if err := s.touch(tx, rec, now); err != nil {
			return err
		}
		// A refresh token's record, used or not, goes when the token
		// expires: a reuse after that can obtain nothing either way.
		if err := putJSON(tx, key(kindRefresh, hashed(refresh)), rr); err != nil {
			return err
		}
		if err := expiring(tx, key(kindRefresh, hashed(refresh)), rr.Expires); err != nil {
			return err
		}
		var err error
		jti, err = s.putToken(tx, rec)
		return err
	})
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.p.met.issued.WithLabelValues(grant).Inc()
	return jti, refresh, rec.Expires, nil
}

// touch updates the lastUsed of the consent or client a token is issued
// under, and checks it still exists.
func (s *storage) touch(tx store.Txn, rec tokenRecord, now time.Time) error {
	switch {
	case rec.Consent:
		k := key(kindConsent, rec.Pod, appID(rec.ClientID))
		var c consentRecord
		ok, err := getJSON(tx, k, &c)
		if err != nil {
			return err
		}
		if !ok {
			return oidc.ErrInvalidGrant().WithDescription("the owner withdrew this app's access")
		}
		c.LastUsed = &now
		return putJSON(tx, k, c)
	case rec.CC:
		k := key(kindCC, rec.Pod, rec.ClientID)
		var c ccRecord
		ok, err := getJSON(tx, k, &c)
		if err != nil {
			return err
		}
		if !ok {
			return oidc.ErrInvalidClient().WithDescription("the client was deleted")
		}
		c.LastUsed = &now
		return putJSON(tx, k, c)
	}
	return nil
}

// TokenRequestByRefreshToken checks a refresh token. The reuse of a
// rotated one revokes its family; a public client's token must come with
// a proof by the key it was bound to.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	h := hashed(token)
	var rec refreshRecord
	var ok, revoked bool
	var cut time.Time
	err := s.st().View(ctx, func(r store.Reader) (err error) {
		if ok, err = getJSON(r, key(kindRefresh, h), &rec); err != nil || !ok {
			return err
		}
		if revoked, err = has(r, key(kindFamily, rec.Family)); err != nil {
			return err
		}
		cut, err = cutOf(r, rec.Pod, rec.ClientID)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	switch {
	case !ok:
		return nil, op.ErrInvalidRefreshToken
	case rec.Rotated:
		// Someone holds a used token: the thief or the app, whichever
		// comes second. Revoke the family, both lose.
		if err := s.revokeFamily(ctx, rec.Family); err != nil {
			return nil, err
		}
		s.p.log.WarnContext(ctx, "idp: rotated refresh token reused; family revoked", "client_id", rec.ClientID, "pod", rec.Pod)
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was used before: every token of its grant is revoked")
	case revoked || !rec.Issued.After(cut):
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was revoked")
	case !now.Before(rec.Expires):
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token has expired")
	case rec.JKT != "" && subtle.ConstantTimeCompare([]byte(rec.JKT), []byte(jktOf(ctx))) != 1:
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is bound to another DPoP key")
	}
	if err := s.p.cfg.Pods.Active(ctx, rec.Pod); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the pod is not active")
	}
	return &refreshRequest{rec: rec, hash: h}, nil
}

func has(r store.Reader, k []byte) (bool, error) {
	_, err := r.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *storage) revokeFamily(ctx context.Context, family string) error {
	return s.st().Update(ctx, func(tx store.Txn) error { return s.revokeFamilyTx(tx, family) })
}

// revokeFamilyTx marks family revoked, until the last token it may hold
// expired: no token joins a revoked family, and its latest one was issued
// before now.
func (s *storage) revokeFamilyTx(tx store.Txn, family string) error {
	k := key(kindFamily, family)
	if ok, err := has(tx, k); err != nil || ok {
		return err
	}
	now := s.p.now()
	b, _ := now.MarshalText()
	if err := tx.Set(k, b); err != nil {
		return err
	}
	return expiring(tx, k, now.Add(s.p.cfg.maxGrantLifetime()))
}

// TerminateSession (logout) cuts every token of the client for the user.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	pod, ok := s.p.cfg.Pods.PodOfWebID(userID)
	if !ok {
		return nil
	}
	return s.p.Cut(ctx, pod, clientID)
}

// RevokeToken revokes an access token (by jti) or a refresh token (and
// its family).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	var err error
	if userID != "" {
		err = s.st().Update(ctx, func(tx store.Txn) error {
			var rec tokenRecord
			ok, err := getJSON(tx, key(kindToken, tokenOrID), &rec)
			if err != nil || !ok {
				return err
			}
			if rec.ClientID != clientID {
				return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
			}
			return deleteExpiring(tx, key(kindToken, tokenOrID), rec.Expires.Add(skew))
		})
	} else {
		var rec refreshRecord
		var ok bool
		err = s.st().View(ctx, func(r store.Reader) (err error) {
			ok, err = getJSON(r, key(kindRefresh, hashed(tokenOrID)), &rec)
			return err
		})
		switch {
		case err != nil:
		case !ok:
			return nil // RFC 7009: an unknown token is no error
		case rec.ClientID != clientID:
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		default:
			err = s.revokeFamily(ctx, rec.Family)
		}
	}
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return oe
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo returns the WebID and id of a refresh token.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var rec refreshRecord
	var ok bool
	err := s.st().View(ctx, func(r store.Reader) (err error) {
		ok, err = getJSON(r, key(kindRefresh, hashed(token)), &rec)
		return err
	})
	if err != nil {
		return "", "", err
	}
	if !ok || rec.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rec.WebID, hashed(token), nil
}

// SigningKey returns the key that signs now.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	keys, err := s.p.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	sk, ok := signer(keys, s.p.now())
	if !ok {
		return nil, errors.New("idp: no active signing key")
	}
	return opSigningKey{sk}, nil
}

// SignatureAlgorithms is ES256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet returns the published keys.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.p.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, opKey{k})
	}
	return out, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.ClientCredentials(ctx, id, secret)
	return err
}

// ClientCredentials authenticates a client by its secret.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.p.client(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.hash == "" || subtle.ConstantTimeCompare([]byte(c.hash), []byte(hashed(secret))) != 1 {
		return nil, errors.New("idp: wrong client secret")
	}
	return c, nil
}

// ClientCredentialsTokenRequest makes the token request of a
// client-credentials client: it acts as its pod's WebID.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.p.client(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.pod == "" {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("only clients made in a pod's settings/clients/ use client_credentials")
	}
	if err := s.p.cfg.Pods.Active(ctx, c.pod); err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("the client's pod is not active")
	}
	return &ccRequest{pod: c.pod, webID: s.p.cfg.Pods.WebID(c.pod), clientID: id, scopes: scopes}, nil
}

// GetClientByClientID returns a registered client, a client-credentials
// client or a Client ID Document's client.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	return s.p.client(ctx, id)
}

// SetUserinfoFromScopes is op's deprecated hook; SetUserinfoFromRequest
// does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest adds the webid claim to ID tokens.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	ui.Subject = req.GetSubject()
	ui.AppendClaims("webid", req.GetSubject())
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, _, subject, _ string) error {
	ui.Subject = subject
	ui.AppendClaims("webid", subject)
	return nil
}

// SetIntrospectionFromToken answers introspection.
func (s *storage) SetIntrospectionFromToken(_ context.Context, ir *oidc.IntrospectionResponse, _, subject, clientID string) error {
	ir.Active = true
	ir.Subject = subject
	ir.ClientID = clientID
	return nil
}

// GetPrivateClaimsFromScopes is used when GetPrivateClaimsFromRequest is
// not; it is.
func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, _ string, _ []string) (map[string]any, error) {
	return s.claims(ctx, userID)
}

// GetPrivateClaimsFromRequest adds webid and cnf.jkt to access tokens.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	return s.claims(ctx, req.GetSubject())
}

func (s *storage) claims(ctx context.Context, webID string) (map[string]any, error) {
	jkt := jktOf(ctx)
	if jkt == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("a DPoP proof is required")
	}
	return map[string]any{"webid": webID, "cnf": map[string]string{"jkt": jkt}}, nil
}

// GetKeyByIDAndClientID: JWT-profile client keys are not supported.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, notFound{"client key"}
}

// ValidateJWTProfileScopes: the JWT profile grant is not supported.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health reports the store reachable.
func (s *storage) Health(ctx context.Context) error {
	return s.st().View(ctx, func(store.Reader) error { return nil })
}

// cutOf returns the time before which every token of clientID for pod is
// revoked (zero when none).
func cutOf(r store.Reader, pod, clientID string) (time.Time, error) {
	b, err := r.Get(key(kindCut, pod, clientID))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if err := t.UnmarshalText(b); err != nil {
		return time.Time{}, fmt.Errorf("idp: cut: %w", err)
	}
	return t, nil
}

// Cut revokes every access and refresh token issued so far to clientID
// for pod's WebID (logout, a withdrawn consent, a deleted client).
func (p *Provider) Cut(ctx context.Context, pod, clientID string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error { return p.cutTx(tx, pod, clientID) })
}

// cutTx records a cut of clientID for pod at now, kept until every token
// it revokes expired (the previous cut's index entry moves).
func (p *Provider) cutTx(tx store.Txn, pod, clientID string) error {
	now := p.now()
	k := key(kindCut, pod, clientID)
	old, err := cutOf(tx, pod, clientID)
	if err != nil {
		return err
	}
	if !old.IsZero() {
		if err := unindex(tx, k, old.Add(p.cfg.maxGrantLifetime())); err != nil {
			return err
		}
	}
	b, _ := now.MarshalText()
	if err := tx.Set(k, b); err != nil {
		return err
	}
	return expiring(tx, k, now.Add(p.cfg.maxGrantLifetime()))
}
