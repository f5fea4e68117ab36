package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"podserver/solidoidc"
	"podserver/store"
)

// Client metadata bounds.
const (
	maxRegistrationBytes = 16 << 10
	maxClientDocBytes    = 64 << 10
	maxRedirectURIs      = 16
	maxURILen            = 2048
	maxNameLen           = 200
	docCacheTTL          = 5 * time.Minute
	maxDocCache          = 1024
)

// Metadata is a client's registration (RFC 7591) or Client ID Document:
// the members the provider uses.
type Metadata struct {
	ClientID                string   `json:"client_id,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	ApplicationType         string   `json:"application_type,omitempty"`
}

// ParseMetadata reads and checks client metadata (a registration request
// or a Client ID Document): redirect URIs are required, https or http on
// loopback, without fragment; the URIs shown on the consent page are
// https or loopback; only the code flow, refresh tokens and the
// token-endpoint auth methods none, client_secret_basic and
// client_secret_post are accepted.
func ParseMetadata(body []byte) (*Metadata, error) {
	var m Metadata
	d := json.NewDecoder(strings.NewReader(string(body)))
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("the client metadata is not a JSON object: %w", err)
	}
	if d.More() {
		return nil, errors.New("the client metadata has data after its JSON object")
	}
	if len(m.RedirectURIs) == 0 || len(m.RedirectURIs) > maxRedirectURIs {
		return nil, fmt.Errorf("redirect_uris must list 1 to %d URIs", maxRedirectURIs)
	}
	for _, u := range append(slices.Clone(m.RedirectURIs), m.PostLogoutRedirectURIs...) {
		if err := checkRedirect(u); err != nil {
			return nil, err
		}
	}
	for _, u := range []string{m.ClientURI, m.LogoURI} {
		if u != "" && (len(u) > maxURILen || solidoidc.CheckSecureURL(u) != nil) {
			return nil, fmt.Errorf("client_uri and logo_uri must be https URLs (http only on loopback)")
		}
	}
	if len(m.ClientName) > maxNameLen || strings.ContainsFunc(m.ClientName, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("client_name must be at most %d printable characters", maxNameLen)
	}
	for _, g := range m.GrantTypes {
		if g != string(oidc.GrantTypeCode) && g != string(oidc.GrantTypeRefreshToken) {
			return nil, fmt.Errorf("grant type %q is not supported: use authorization_code and refresh_token", g)
		}
	}
	for _, rt := range m.ResponseTypes {
		if rt != string(oidc.ResponseTypeCode) {
			return nil, fmt.Errorf("response type %q is not supported: use code", rt)
		}
	}
	switch m.TokenEndpointAuthMethod {
	case "", "none", "client_secret_basic", "client_secret_post":
	default:
		return nil, fmt.Errorf("token_endpoint_auth_method %q is not supported", m.TokenEndpointAuthMethod)
	}
	if len(m.Scope) > 1024 {
		return nil, errors.New("scope is too long")
	}
	return &m, nil
}

// checkRedirect checks a redirect URI: absolute, https or http on
// loopback, no fragment.
func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURILen || u.Fragment != "" || u.Host == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URL without fragment", raw)
	}
	if solidoidc.CheckSecureURL(raw) != nil {
		return fmt.Errorf("redirect URI %q must be https (http only on loopback)", raw)
	}
	return nil
}

// client is an op.Client: a registered client, a pod's
// client-credentials client or a Client ID Document.
type client struct {
	id   string
	meta Metadata
	hash string // secret hash, "" for public clients
	pod  string // client-credentials clients: the pod they act for
}

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.meta.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.meta.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType {
	if c.hash != "" {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeUserAgent
}
func (c *client) AuthMethod() oidc.AuthMethod {
	switch {
	case c.hash == "":
		return oidc.AuthMethodNone
	case c.meta.TokenEndpointAuthMethod == "client_secret_post":
		return oidc.AuthMethodPost
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	if c.pod != "" {
		return nil
	}
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	if c.pod != "" {
		return []oidc.GrantType{oidc.GrantTypeClientCredentials}
	}
	if len(c.meta.GrantTypes) == 0 {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	out := make([]oidc.GrantType, 0, len(c.meta.GrantTypes))
	for _, g := range c.meta.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (c *client) LoginURL(id string) string           { return PathLogin + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return time.Hour }

// DevMode lets op accept http redirect URIs, which ParseMetadata allows
// on loopback only.
func (c *client) DevMode() bool { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool     { return scope == ScopeWebID }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// name is how the consent page names the client.
func (c *client) name() string {
	if c.meta.ClientName != "" {
		return c.meta.ClientName
	}
	return c.id
}

// registeredClient is the stored form of a registered client.
type registeredClient struct {
	Meta    Metadata  `json:"meta"`
	Hash    string    `json:"hash,omitempty"`
	Created time.Time `json:"created"`
}

// isURLClientID reports whether id is a Client ID Document's URL.
func isURLClientID(id string) bool {
	return strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://")
}

// client returns the client id names.
func (p *Provider) client(ctx context.Context, id string) (*client, error) {
	if id == "" || len(id) > maxURILen {
		return nil, notFound{"client"}
	}
	if isURLClientID(id) {
		return p.docs.get(ctx, p, id)
	}
	var rc registeredClient
	var cc ccRecord
	var pod string
	var okR, okC bool
	err := p.cfg.Store.View(ctx, func(r store.Reader) error {
		var err error
		if okR, err = getJSON(r, key(kindClient, id), &rc); err != nil || okR {
			return err
		}
		b, err := r.Get(key(kindCCIndex, id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		pod = string(b)
		okC, err = getJSON(r, key(kindCC, pod, id), &cc)
		return err
	})
	switch {
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	case okR:
		return &client{id: id, meta: rc.Meta, hash: rc.Hash}, nil
	case okC:
		return &client{id: id, meta: Metadata{ClientName: cc.Name}, hash: cc.Hash, pod: pod}, nil
	}
	return nil, notFound{"client"}
}

// docCache keeps fetched Client ID Documents for docCacheTTL.
type docCache struct {
	mu      sync.Mutex
	entries map[string]docEntry
}

type docEntry struct {
	c       *client
	err     error
	expires time.Time
}

// get returns the client of the Client ID Document at id.
func (d *docCache) get(ctx context.Context, p *Provider, id string) (*client, error) {
	now := p.now()
	d.mu.Lock()
	e, ok := d.entries[id]
	d.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c, e.err
	}
	c, err := p.fetchClientDoc(ctx, id)
	ttl := docCacheTTL
	if err != nil {
		ttl = 5 * time.Second
	}
	d.mu.Lock()
	if len(d.entries) >= maxDocCache {
		clear(d.entries)
	}
	d.entries[id] = docEntry{c: c, err: err, expires: now.Add(ttl)}
	d.mu.Unlock()
	return c, err
}

// fetchClientDoc fetches and checks a Client ID Document: JSON-LD (an
// @context), client_id equal to its URL, valid metadata.
func (p *Provider) fetchClientDoc(ctx context.Context, id string) (*client, error) {
	if p.cfg.Fetcher == nil {
		return nil, notFound{"client"}
	}
	if err := solidoidc.CheckSecureURL(id); err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("a Client ID Document's URL must be https (http only on loopback)")
	}
	var m *Metadata
	err := p.cfg.Fetcher.Fetch(ctx, id, "application/ld+json, application/json;q=0.9", maxClientDocBytes, func(_ string, body []byte) error {
		var probe struct {
			Context json.RawMessage `json:"@context"`
		}
		if err := json.Unmarshal(body, &probe); err != nil || len(probe.Context) == 0 {
			return errors.New("the Client ID Document is not JSON-LD (no @context)")
		}
		var err error
		m, err = ParseMetadata(body)
		return err
	})
	if err != nil {
		p.log.InfoContext(ctx, "idp: Client ID Document refused", "client_id", id, "err", err)
		return nil, oidc.ErrInvalidClient().WithDescription("the Client ID Document cannot be used: %s", descOf(err))
	}
	if m.ClientID != id {
		return nil, oidc.ErrInvalidClient().WithDescription("the Client ID Document's client_id is not its URL")
	}
	// A document is public: it has no secret.
	m.TokenEndpointAuthMethod = "none"
	return &client{id: id, meta: *m}, nil
}

// descOf is a short client-facing form of err.
func descOf(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// register serves dynamic client registration (RFC 7591): public
// clients (token_endpoint_auth_method none) get no secret; others get
// one, shown once and stored hashed.
func (p *Provider) register(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "register with POST")
		return
	}
	body, err := readBody(r, maxRegistrationBytes)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", err.Error())
		return
	}
	m, err := ParseMetadata(body)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", err.Error())
		return
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = "client_secret_basic"
	}
	id := randomID(16)
	m.ClientID = id
	rc := registeredClient{Meta: *m, Created: p.now()}
	var secret string
	if m.TokenEndpointAuthMethod != "none" {
		secret = secretToken()
		rc.Hash = hashed(secret)
	}
	if err := p.cfg.Store.Update(r.Context(), func(tx store.Txn) error { return putJSON(tx, key(kindClient, id), rc) }); err != nil {
		p.log.ErrorContext(r.Context(), "idp: register client", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "the client could not be stored")
		return
	}
	out := map[string]any{}
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &out)
	out["client_id_issued_at"] = rc.Created.Unix()
	if secret != "" {
		out["client_secret"] = secret
		out["client_secret_expires_at"] = 0
	}
	if len(m.GrantTypes) == 0 {
		out["grant_types"] = []string{"authorization_code", "refresh_token"}
	}
	out["response_types"] = []string{"code"}
	writeJSON(w, http.StatusCreated, out)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("the body is unreadable or larger than %d bytes", limit)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
