package idp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"podserver/netguard"
	"podserver/solidoidc"
	"podserver/store"
)

// Paths of the provider, relative to the issuer (the server's base URL).
const (
	PathDiscovery = "/.well-known/openid-configuration"
	PathPrefix    = "/.oidc/"
	PathJWKS      = PathPrefix + "jwks"
	PathAuth      = PathPrefix + "auth"
	PathToken     = PathPrefix + "token"
	PathReg       = PathPrefix + "reg"
	PathRevoke    = PathPrefix + "revoke"
	PathEndSess   = PathPrefix + "session/end"
	PathUserinfo  = PathPrefix + "userinfo"
	PathLogin     = PathPrefix + "login"
	PathConsent   = PathPrefix + "consent"
)

// Scopes the provider knows; webid is Solid-OIDC's.
const ScopeWebID = "webid"

// Pods is what the provider needs of the server's pods.
type Pods interface {
	// WebID returns the WebID of pod's owner.
	WebID(pod string) string
	// PodOfWebID returns the pod whose owner webID is, when it is one of
	// this server's.
	PodOfWebID(webID string) (string, bool)
	// Active returns nil when pod exists and is enabled.
	Active(ctx context.Context, pod string) error
	// OwnerKey reports whether secret is an owner key of pod.
	OwnerKey(ctx context.Context, pod, secret string) (bool, error)
}

// ProofVerifier checks DPoP proofs: solidoidc.Verifier is one.
type ProofVerifier interface {
	// VerifyProof checks the proof of a token request and returns the
	// thumbprint of its key.
	VerifyProof(ctx context.Context, r *http.Request, requestURL string) (string, error)
	// Verify checks a request's DPoP-bound access token and its proof
	// (htm, htu, iat, jti, ath, cnf.jkt), as a resource server does; the
	// userinfo endpoint uses it. Bearer is refused.
	Verify(ctx context.Context, r *http.Request, requestURL string) (*solidoidc.Identity, error)
}

// Config configures a Provider. Store, Issuer, Pods and Proofs are
// required.
type Config struct {
	// Store keeps every piece of state (Prefix), so nodes sharing it act
	// as one issuer and a restart loses nothing.
	Store store.Store
	// Issuer is the server's base URL with a trailing slash.
	Issuer string
	// Pods looks pods and owner keys up.
	Pods Pods
	// Proofs checks DPoP proofs at the token endpoint.
	Proofs ProofVerifier
	// Fetcher fetches Client ID Documents; nil refuses URL client ids.
	Fetcher *netguard.Fetcher
	// Logger logs; never a token, code, password or secret.
	Logger *slog.Logger
	// Registerer registers the metrics; nil registers none.
	Registerer prometheus.Registerer
	// PageHeaders sets the security headers of the login and consent
	// pages (the console's); the provider then sets its own
	// Content-Security-Policy with form-action widened as it needs.
	PageHeaders func(http.Header)
	// StyleURL is the stylesheet of the pages (the console's).
	StyleURL string
	// LogoutURL is where the end-session endpoint sends a browser whose
	// app named no post_logout_redirect_uri (default: the issuer).
	LogoutURL string
	// AccessTokenTTL, RefreshTokenTTL, KeyLifetime and KeyPublishAhead
	// default to 1h, 30 days, 30 days and 15 minutes.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	KeyLifetime     time.Duration
	KeyPublishAhead time.Duration
	// LoginAttempts is how many failed logins a pod, and a client IP,
	// may make per LoginWindow (default 10 and 15 minutes; a client IP
	// gets three times as many).
	LoginAttempts int
	LoginWindow   time.Duration
	// PasswordTime and PasswordMemory are the argon2id parameters of new
	// password hashes (default 2 passes, 19 MiB).
	PasswordTime   uint32
	PasswordMemory uint32
	// SweepInterval is how often RunSweeper deletes expired records
	// (default 5 minutes).
	SweepInterval time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (c *Config) maxTokenLifetime() time.Duration {
	return max(c.AccessTokenTTL, time.Hour) // ID tokens live an hour
}

// maxGrantLifetime is how long a token issued now may still be used:
// the longest of a refresh token's and an access token's life, plus the
// resource server's clock skew. A revocation record (a family's, a cut)
// matters no longer.
func (c *Config) maxGrantLifetime() time.Duration {
	return max(c.RefreshTokenTTL, c.AccessTokenTTL) + skew
}

// Provider is the identity provider. It is safe for concurrent use.
type Provider struct {
	cfg     Config
	op      *op.Provider
	handler http.Handler
	keys    keyRing
	docs    docCache
	met     metrics
	log     *slog.Logger
	// hashing bounds the password hashes (argon2id, PasswordMemory
	// each) computed at once: see idKey.
	hashing chan struct{}
}

// metrics are the provider's Prometheus metrics.
type metrics struct {
	logins   *prometheus.CounterVec
	issued   *prometheus.CounterVec
	failures *prometheus.CounterVec
	swept    prometheus.Counter
}

// New returns the provider of cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Store == nil || cfg.Pods == nil || cfg.Proofs == nil || !strings.HasSuffix(cfg.Issuer, "/") {
		return nil, errors.New("idp: Config needs a Store, Pods, Proofs and an Issuer ending in /")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AccessTokenTTL, time.Hour)
	def(&cfg.RefreshTokenTTL, 30*24*time.Hour)
	def(&cfg.KeyLifetime, 30*24*time.Hour)
	def(&cfg.KeyPublishAhead, 15*time.Minute)
	def(&cfg.LoginWindow, 15*time.Minute)
	def(&cfg.SweepInterval, 5*time.Minute)
	if cfg.LoginAttempts <= 0 {
		cfg.LoginAttempts = 10
	}
	if cfg.PasswordTime == 0 {
		cfg.PasswordTime = 2
	}
	if cfg.PasswordMemory == 0 {
		cfg.PasswordMemory = 19 * 1024
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PageHeaders == nil {
		cfg.PageHeaders = func(http.Header) {}
	}
	p := &Provider{cfg: cfg, log: cfg.Logger, hashing: make(chan struct{}, max(runtime.GOMAXPROCS(0), 2))}
	p.keys.p = p
	p.docs.entries = map[string]docEntry{}
	p.met = metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_idp_logins_total",
			Help: "Logins at the identity provider's login page, by result.",
		}, []string{"result"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_idp_tokens_issued_total",
			Help: "Access tokens issued by the identity provider, by grant type.",
		}, []string{"grant"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_idp_token_failures_total",
			Help: "Token requests refused by the identity provider, by reason (the OAuth error code).",
		}, []string{"reason"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podserver_idp_expired_records_deleted_total",
			Help: "Expired records of the identity provider (auth requests, codes, token records, counters) deleted by the sweep.",
		}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.met.logins, p.met.issued, p.met.failures, p.met.swept} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("idp: metrics: %w", err)
			}
		}
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(PathAuth), op.NewEndpoint(PathToken), op.NewEndpoint(PathUserinfo),
			op.NewEndpoint(PathRevoke), op.NewEndpoint(PathEndSess), op.NewEndpoint(PathJWKS)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathPrefix + "introspect")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(PathPrefix + "device")),
		// The server's own CORS middleware answers for every path.
		op.WithCORSOptions(nil),
	}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	var cryptoKey [32]byte // opaque tokens are never issued: access tokens are JWTs
	o, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CodeMethodS256:           true,
		DefaultLogoutRedirectURI: cmp.Or(cfg.LogoutURL, cfg.Issuer),
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{"openid", ScopeWebID, "offline_access"},
		SupportedClaims:          append(append([]string(nil), op.DefaultSupportedClaims...), "webid", "cnf"),
	}, &storage{p}, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	p.op = o
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDiscovery, p.discovery)
	mux.Handle(PathJWKS, o)
	mux.Handle(PathAuth, o)
	mux.Handle(PathAuth+"/callback", o)
	mux.HandleFunc(PathToken, p.token)
	mux.HandleFunc(PathReg, p.register)
	mux.Handle(PathRevoke, o)
	mux.Handle(PathEndSess, o)
	mux.HandleFunc(PathUserinfo, p.userinfo)
	mux.HandleFunc(PathLogin, p.login)
	mux.HandleFunc(PathConsent, p.consent)
	p.handler = mux
	return p, nil
}

// Owns reports whether the provider serves path.
func Owns(path string) bool {
	return path == PathDiscovery || strings.HasPrefix(path, PathPrefix)
}

// ServeHTTP serves the provider's endpoints (see Owns).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p.handler.ServeHTTP(w, r)
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) now() time.Time { return p.cfg.Now() }

// url returns the absolute URL of path.
func (p *Provider) url(path string) string { return strings.TrimSuffix(p.cfg.Issuer, "/") + path }
