package idp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"

	"podserver/solidoidc"
)

// token serves the token endpoint: the DPoP proof is checked first (a
// request without one is refused with invalid_dpop_proof), its key's
// thumbprint goes to the storage through the context (cnf.jkt of the
// tokens), and op's Bearer answer is turned into DPoP.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	jkt, err := p.cfg.Proofs.VerifyProof(r.Context(), r, p.url(PathToken))
	if err != nil {
		var e *solidoidc.Error
		if !errors.As(err, &e) {
			p.log.ErrorContext(r.Context(), "idp: DPoP proof check failed", "err", err)
			p.met.failures.WithLabelValues("server_error").Inc()
			writeOAuthError(w, http.StatusServiceUnavailable, "server_error", "the DPoP proof cannot be checked now")
			return
		}
		p.met.failures.WithLabelValues(solidoidc.CodeInvalidProof).Inc()
		p.log.InfoContext(r.Context(), "idp: token request refused", "reason", string(e.Reason))
		writeOAuthError(w, http.StatusBadRequest, solidoidc.CodeInvalidProof, e.Description)
		return
	}
	rec := &recorder{header: http.Header{}}
	p.op.ServeHTTP(rec, r.WithContext(withJKT(r.Context(), jkt)))
	body := rec.body.Bytes()
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			if _, ok := m["access_token"]; ok {
				m["token_type"] = "DPoP"
				if b, err := json.Marshal(m); err == nil {
					body = b
				}
			}
		}
	} else {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		reason := e.Error
		if !knownOAuthError(reason) {
			reason = "other"
		}
		p.met.failures.WithLabelValues(reason).Inc()
		p.log.InfoContext(r.Context(), "idp: token request refused", "reason", reason, "status", status)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func knownOAuthError(s string) bool {
	switch s {
	case "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
		"invalid_scope", "server_error", "access_denied", "invalid_dpop_proof":
		return true
	}
	return false
}

// recorder buffers op's token response (bounded: token responses are
// small).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.body.Len()+len(b) > 1<<20 {
		return 0, errors.New("idp: token response too large")
	}
	return r.body.Write(b)
}

// discovery serves the OpenID configuration: op's, with the registration
// endpoint, DPoP algorithms and Solid's scopes.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	cfg := op.CreateDiscoveryConfig(ctx, p.op, p.op.Storage())
	cfg.RegistrationEndpoint = p.url(PathReg)
	cfg.ResponseTypesSupported = []string{"code"}
	b, err := json.Marshal(cfg)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "discovery unavailable")
		return
	}
	m["code_challenge_methods_supported"] = []string{"S256"}
	m["grant_types_supported"] = []string{"authorization_code", "refresh_token", "client_credentials"}
	m["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
	m["dpop_signing_alg_values_supported"] = algNames()
	m["scopes_supported"] = []string{"openid", ScopeWebID, "offline_access"}
	m["authorization_response_iss_parameter_supported"] = false
	delete(m, "introspection_endpoint")
	delete(m, "device_authorization_endpoint")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(m)
}

func algNames() []string {
	out := make([]string, 0, len(solidoidc.Algs))
	for _, a := range solidoidc.Algs {
		out = append(out, string(a))
	}
	return out
}

// userinfo serves op's userinfo endpoint to DPoP-bound tokens of this
// issuer: the token and its proof are checked as the resource server
// checks them (Config.Proofs.Verify: htm, htu, iat, jti, ath, cnf.jkt),
// then revocation (CheckToken); Bearer is refused, since every access
// token this issuer makes is DPoP-bound. op then answers, reading the
// token as Bearer (the only scheme it knows).
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := p.cfg.Proofs.Verify(ctx, r, p.url(PathUserinfo))
	var e *solidoidc.Error
	switch {
	case errors.As(err, &e):
	case err != nil:
		p.log.ErrorContext(ctx, "idp: userinfo token check failed", "err", err)
		writeOAuthError(w, http.StatusServiceUnavailable, "server_error", "the token cannot be checked now")
		return
	case id.Issuer != p.cfg.Issuer:
		e = &solidoidc.Error{Code: solidoidc.CodeInvalidToken, Reason: solidoidc.ReasonTokenIssuer, Description: "the access token is not this issuer's"}
	default:
		if _, err := p.CheckToken(ctx, id.TokenID); err != nil {
			var rv *ErrRevoked
			if !errors.As(err, &rv) {
				p.log.ErrorContext(ctx, "idp: userinfo token check failed", "err", err)
				writeOAuthError(w, http.StatusServiceUnavailable, "server_error", "the token cannot be checked now")
				return
			}
			e = &solidoidc.Error{Code: solidoidc.CodeInvalidToken, Reason: "token_revoked", Description: strings.TrimPrefix(rv.Error(), "idp: ")}
		}
	}
	if e != nil {
		p.met.failures.WithLabelValues("userinfo_" + string(e.Code)).Inc()
		p.log.InfoContext(ctx, "idp: userinfo request refused", "reason", string(e.Reason))
		status := http.StatusUnauthorized
		if e.Code == solidoidc.CodeInvalidRequest {
			status = http.StatusBadRequest
		}
		w.Header().Set("WWW-Authenticate", solidoidc.Challenge(e, ""))
		writeOAuthError(w, status, e.Code, e.Description)
		return
	}
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	r = r.Clone(ctx)
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	r.Header.Del("DPoP")
	p.op.ServeHTTP(w, r)
}
