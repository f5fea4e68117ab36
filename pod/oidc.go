package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"

	"podserver/apierr"
	"podserver/idp"
	"podserver/ldp"
	"podserver/netguard"
	"podserver/replay"
	"podserver/solidoidc"
	"podserver/webid"
)

// msgTokenRefused prefixes the 401 message of a refused Solid-OIDC token;
// the solidoidc reason's description follows.
const msgTokenRefused = "Solid-OIDC token refused: "

// maxOIDCDocumentBytes bounds a fetched WebID profile, discovery document
// or JWKS.
const maxOIDCDocumentBytes = 256 << 10

// oidcAuth is the server's Solid-OIDC resource server: it accepts
// DPoP-bound access tokens from any issuer a WebID's profile names.
type oidcAuth struct {
	s        *Server
	v        *solidoidc.Verifier
	profiles *webid.Resolver
	// asURI is sent as the challenge's as_uri: empty until this server
	// is an identity provider itself.
	asURI    string
	refused  *prometheus.CounterVec
	accepted prometheus.Counter
	// fetcher fetches issuers' documents and profiles; clientDocs the
	// identity provider's Client ID Documents, which anyone can make it
	// fetch (/.oidc/auth?client_id=), so they cannot take the slots token
	// checks wait for.
	fetcher    *netguard.Fetcher
	clientDocs *netguard.Fetcher

	// local caches the issuers of this server's profile documents by
	// document URL (aliases resolve subjects differently), with the version they were read at: a read of the
	// stored document (cheap) tells whether they still hold, so only a
	// changed profile is parsed again.
	mu    sync.Mutex
	local map[string]localIssuers
}

// localIssuers are the solid:oidcIssuer values of a stored profile
// document at one version, by subject.
type localIssuers struct {
	version uint64
	issuers map[string][]string
}

// maxLocalProfiles bounds oidcAuth.local; when full it starts over.
const maxLocalProfiles = 1024

// newOIDC builds the resource server of s: issuers' keys and other
// servers' profiles are fetched through one netguard Fetcher (private
// addresses refused unless Options.AllowPrivateTargets); proof ids are
// kept in the store (package replay), so a replay is refused after a
// restart and by every node sharing the store.
func newOIDC(s *Server) (*oidcAuth, error) {
	client := netguard.NewClient(netguard.Policy{AllowPrivate: s.opts.AllowPrivateTargets},
		netguard.ClientOptions{Timeout: 10 * time.Second, MaxRedirects: -1, MaxResponseBytes: maxOIDCDocumentBytes})
	fetcher := netguard.NewFetcher(client, netguard.FetchLimits{})
	o := &oidcAuth{
		s:          s,
		fetcher:    fetcher,
		clientDocs: netguard.NewFetcher(client, netguard.FetchLimits{}),
		local:      map[string]localIssuers{},
		profiles:   webid.NewResolver(webid.Options{Fetcher: fetcher, MaxProfileBytes: maxOIDCDocumentBytes}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_oidc_token_failures_total",
			Help: "Solid-OIDC requests refused, by reason.",
		}, []string{"reason"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podserver_oidc_tokens_accepted_total",
			Help: "Solid-OIDC requests authenticated.",
		}),
	}
	v, err := solidoidc.New(solidoidc.Config{
		Fetcher:          fetcher,
		Nonces:           replay.New(s.st),
		Issuers:          o.issuers,
		LocalKeys:        o.localKeys,
		MaxDocumentBytes: maxOIDCDocumentBytes,
	})
	if err != nil {
		return nil, err
	}
	o.v = v
	s.reg.MustRegister(o.refused, o.accepted)
	return o, nil
}

// localKeys returns this server's own signing keys (its identity
// provider's, read from the store) for tokens it issued: they verify
// without a fetch, so a server on a loopback or private base URL accepts
// its own tokens without Options.AllowPrivateTargets.
func (o *oidcAuth) localKeys(ctx context.Context, iss string) ([]jose.JSONWebKey, bool, error) {
	if o.s.idp == nil || iss != o.s.idp.Issuer() {
		return nil, false, nil
	}
	keys, err := o.s.idp.PublicKeys(ctx)
	return keys, true, err
}

// authenticate verifies the Solid-OIDC token and proof of c's request
// (solidoidc.HasToken). The principal is the token's WebID, with no pod,
// key or owner power: WAC decides what it may do.
func (o *oidcAuth) authenticate(c *gin.Context) (ldp.Principal, error) {
	r := c.Request
	id, err := o.v.Verify(r.Context(), r, o.requestURL(r))
	if err != nil {
		var e *solidoidc.Error
		switch {
		case errors.As(err, &e):
			o.refused.WithLabelValues(string(e.Reason)).Inc()
			// The cause names URLs and checks, never a token.
			o.s.log.InfoContext(r.Context(), "solid-oidc token refused", "request_id", c.GetString("request_id"),
				"reason", string(e.Reason), "err", err)
			return ldp.Principal{}, apierr.Wrap(http.StatusUnauthorized, msgTokenRefused+e.Description, err).
				With("WWW-Authenticate", solidoidc.Challenge(e, o.asURI))
		case errors.Is(err, netguard.ErrBusy):
			o.refused.WithLabelValues("busy").Inc()
			return ldp.Principal{}, apierr.Wrap(http.StatusServiceUnavailable, "too many Solid-OIDC checks in progress; retry later", err).With("Retry-After", "1")
		}
		return ldp.Principal{}, err
	}
	pr := ldp.Principal{Agent: id.WebID, ClientID: id.ClientID, Expires: id.Expiry}
	if id.Issuer == o.s.Issuer() {
		// This server's own token: revocation, logout and withdrawn
		// consents apply at once (the store says, on every node), and
		// for as long as what the token made lives (its grant).
		g, err := o.s.idp.CheckToken(r.Context(), id.TokenID)
		if err != nil {
			var rv *idp.ErrRevoked
			if !errors.As(err, &rv) {
				return ldp.Principal{}, err
			}
			e := &solidoidc.Error{Code: solidoidc.CodeInvalidToken, Reason: reasonRevoked, Description: strings.TrimPrefix(rv.Error(), "idp: ")}
			o.refused.WithLabelValues(string(e.Reason)).Inc()
			o.s.log.InfoContext(r.Context(), "solid-oidc token refused", "request_id", c.GetString("request_id"),
				"reason", string(e.Reason), "err", err)
			return ldp.Principal{}, apierr.Wrap(http.StatusUnauthorized, msgTokenRefused+e.Description, err).
				With("WWW-Authenticate", solidoidc.Challenge(e, o.asURI))
		}
		pr.Grant, pr.Expires = g.String(), time.Time{}
	}
	o.accepted.Inc()
	c.Set("agent", id.WebID)
	c.Set("client_id", id.ClientID)
	return pr, nil
}

// reasonRevoked is the refusal reason of a token of this server's
// identity provider that was revoked (or whose grant was).
const reasonRevoked solidoidc.Reason = "token_revoked"

// requestURL is the URL the client addressed, for the proof's htu: the
// server's scheme, the Host header when it names this server (an alias,
// a pod's subdomain) or else the base URL's host, and the path. A proof
// made for another server's URL never matches, whatever Host the request
// claims.
func (o *oidcAuth) requestURL(r *http.Request) string {
	u := o.s.urls
	host := r.Host
	if !u.OnServer(u.URLScheme() + "://" + host + "/") {
		host = u.Host()
	}
	return u.URLScheme() + "://" + host + r.URL.EscapedPath()
}

// issuers returns the solid:oidcIssuer values of webID's profile: read
// from the store when the profile is a document of this server, fetched
// (and cached) otherwise.
func (o *oidcAuth) issuers(ctx context.Context, webID string, refresh bool) ([]string, error) {
	if pod, rel, ok := o.s.PodOfURL(webID); ok {
		doc, _, _ := strings.Cut(webID, "#")
		if err := ldp.CleanPath(rel); err != nil {
			return nil, fmt.Errorf("profile %s: %w", doc, err)
		}
		res, err := o.s.repo.Get(ctx, ldp.StoragePath(pod, rel))
		if errors.Is(err, ldp.ErrNotFound) {
			return nil, fmt.Errorf("profile %s not found", doc)
		}
		if err != nil {
			return nil, err
		}
		o.mu.Lock()
		li, ok := o.local[doc]
		o.mu.Unlock()
		if !ok || li.version != res.Meta.Version {
			quads, err := ldp.ParseRDF(res.Meta.ContentType, res.Body, doc)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %w", doc, err)
			}
			li = localIssuers{version: res.Meta.Version, issuers: webid.OIDCIssuersOf(quads)}
			o.mu.Lock()
			if len(o.local) >= maxLocalProfiles {
				clear(o.local)
			}
			o.local[doc] = li
			o.mu.Unlock()
		}
		out := slices.Clone(li.issuers[webID])
		if rel == profilePath {
			// Served profiles name this server's issuer (withIssuer).
			out = append(out, o.s.Issuer())
		}
		return out, nil
	}
	if refresh {
		return o.profiles.RefreshOIDCIssuers(ctx, webID)
	}
	return o.profiles.OIDCIssuers(ctx, webID)
}
