package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"podserver/acl"
	"podserver/idp"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/netguard"
	"podserver/podurl"
	"podserver/publish"
	"podserver/rdf"
	"podserver/store"
	"podserver/store/pgstore"
)

// Server hosts pods over HTTP.
type Server struct {
	opts    Options
	log     *slog.Logger
	st      store.Store
	repo    *ldp.Repo
	keys    *acl.Keys
	eval    *acl.Evaluator
	ldp     *ldp.Handler
	engine  *gin.Engine
	reg     *prometheus.Registry
	metrics *metrics
	// settings and acls are the watches through which publishing's
	// settings caches and the ACL evaluator follow the store's change
	// feed (store.Watch); they, the key cache and the notifier are fed
	// every durable change from the first write (see New).
	settings *store.Watch
	acls     *store.Watch
	// inboxes wakes inbox long-polls from the change feed.
	inboxes *inbox.Inboxes
	// wired is set once every part that follows the change feed exists:
	// a shared store's feed may report other nodes' changes from the
	// moment it opens, and until then they are dropped (every cache
	// starts empty, and the notifier re-reads its channels after).
	wired atomic.Bool
	ev    *events
	nt    *notifier
	con   *console
	oidc  *oidcAuth
	idp   *idp.Provider
	pods  podCache // pods known to be active
	adm   *admin
	// signing caches pods' Ed25519 signing keys (pod name ->
	// ed25519.PrivateKey): a pod's key is written once, when the pod is
	// created, and deriving it from its seed costs a scalar multiplication.
	signing sync.Map

	// urls is the server's pod URL scheme, fixed by New.
	urls podurl.Scheme
	// rdfReader reads the RDF clients write (newContextReader).
	rdfReader *rdf.Reader

	mu    sync.Mutex
	sweep idpSweeper // the identity provider's sweep, while serving
	srv   *http.Server
	ln    net.Listener // bound by New (port 0) or Start
	done  chan error
}

// New opens the store and builds a Server. It does not serve yet, and
// listens only for an Addr with port 0 and no BaseURL (see Options.Addr).
func New(opts Options) (s *Server, err error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	urls, ln, err := urlScheme(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && ln != nil {
			_ = ln.Close()
		}
	}()
	s = &Server{opts: opts, log: opts.Logger, reg: prometheus.NewRegistry(), urls: urls, ln: ln,
		settings: publish.NewSettingsWatch(), acls: store.NewWatch(ldp.ACLChanged), inboxes: inbox.New(),
		rdfReader: newContextReader(opts)}
	s.metrics = newMetrics(s.reg)
	onBatch := func(n int) { s.metrics.batch.Observe(float64(n)) }
	// The change feed is how every cache learns of changes, whoever made
	// them: this node, or another sharing a PostgreSQL store.
	onChange := func(ch []store.Change) {
		if !s.wired.Load() {
			return
		}
		s.settings.Observe(ch)
		s.acls.Observe(ch)
		s.keys.Observe(ch)
		s.inboxes.Observe(ch)
		s.nt.onChange(ch)
		s.ev.observe(ch)
		s.forgetPods(ch)
	}
	st, err := openStore(opts, onBatch, onChange, s.resetCaches)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.st = st
	if b, ok := st.(*store.Badger); ok && !opts.InMemory {
		s.reg.MustRegister(newDiskCollector(b))
	}
	if p, ok := st.(*pgstore.Store); ok {
		s.reg.MustRegister(newPGCollector(p))
	}
	s.repo = ldp.NewRepo(st)
	s.keys = acl.NewKeys(st)
	s.eval = acl.NewEvaluator(locator{s}, s.acls)
	s.ldp = ldp.NewHandler(ldp.Config{
		Repo:         s.repo,
		Authorizer:   authorizer{s},
		Logger:       s.log,
		MaxBodyBytes: opts.MaxBodyBytes,
		// Inbox items are appended without membership keys (inbox.Append).
		SeqNamed: func(c string) bool { _, rel := ldp.SplitStoragePath(c); return rel == "inbox/" },
		// JSON-LD goes out naming the context this server serves.
		ContextURL: rdf.ContextURL(s.urls.Base()),
		RDF:        s.rdfReader,
		Hooks: ldp.Hooks{Validate: s.validateWrite, Redact: s.redact,
			Headers: func(c *gin.Context, r *ldp.Request, p string) { s.nt.headers(c, r, p); s.ev.headers(c, p) }},
	})
	// One delivery queue carries events and push notifications; the
	// notifier registers its kind before newEvents starts the queue.
	queue := s.newQueue()
	if s.nt, err = newNotifier(s, queue); err != nil {
		_ = st.Close()
		return nil, err
	}
	if s.ev, err = newEvents(s, queue); err != nil {
		s.nt.close()
		_ = st.Close()
		return nil, err
	}
	if s.con, err = newConsole(s); err != nil {
		s.ev.close()
		s.nt.close()
		_ = st.Close()
		return nil, err
	}
	if s.oidc, err = newOIDC(s); err != nil {
		s.ev.close()
		s.nt.close()
		_ = st.Close()
		return nil, err
	}
	if s.idp, err = newIDP(s); err != nil {
		s.ev.close()
		s.nt.close()
		_ = st.Close()
		return nil, err
	}
	s.oidc.asURI = s.Issuer()
	s.engine = s.routes()
	s.wired.Store(true)
	if s.adm, err = newAdmin(s); err != nil {
		s.ev.close()
		s.nt.close()
		_ = st.Close()
		return nil, err
	}
	if opts.StoreURL != "" {
		// Channels other nodes created while this one started.
		if err := s.nt.n.Resync(context.Background()); err != nil {
			s.log.Warn("cannot re-read notification channels", "err", err)
		}
	}
	return s, nil
}

// resetCaches drops every cache and wakes every waiter, for when a shared
// store's change feed may have missed changes (pgstore.Options.OnReset).
func (s *Server) resetCaches() {
	if !s.wired.Load() {
		return
	}
	s.settings.Reset()
	s.acls.Reset()
	s.keys.Reset()
	s.pods.forget("", true)
	s.inboxes.WakeAll()
	s.ev.queue.Poke()
	s.ev.outbox.WakeAll()
	go func() {
		if err := s.nt.n.Resync(context.Background()); err != nil {
			s.log.Warn("cannot re-read notification channels", "err", err)
		}
	}()
}

// openStore opens the store opts name: PostgreSQL for a StoreURL,
// Badger otherwise. onBatch is Badger's only, and so is onReset, the
// feed's "changes may have been missed".
func openStore(opts Options, onBatch func(int), onChange func([]store.Change), onReset func()) (store.Store, error) {
	// The caches follow resources (ACLs, settings, profiles,
	// representations, inbox arrivals, notifications), keys, pods, and
	// outbox records (the outbox listing's long-polls).
	prefixes := []string{store.PrefixResource, store.PrefixKey, store.PrefixPod, store.PrefixOutbox}
	if opts.StoreURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Nodes sharing the store also follow each other's notification
		// channels and delivery records. Every node must watch the same.
		prefixes = append(prefixes, store.PrefixChannel, store.PrefixDelivery)
		return pgstore.Open(ctx, pgstore.Options{URL: opts.StoreURL, Logger: opts.Logger,
			OnChange: onChange, OnReset: onReset, ChangePrefixes: prefixes})
	}
	return store.Open(store.Options{
		Dir:      opts.DataDir,
		InMemory: opts.InMemory,
		Logger:   opts.Logger,
		// Set by setDefaults: 0 here means off.
		CommitInterval: opts.CommitInterval,
		OnBatch:        onBatch,
		OnChange:       onChange,
		ChangePrefixes: prefixes,
		MemTableSize:   opts.MemTableSize,
		MinFreeBytes:   opts.DiskReserve,
	})
}

// Start listens on Options.Addr and serves in the background. It returns
// once the listener is open. It makes the operator key when there is none
// (FirstOperatorKey).
func (s *Server) Start() error {
	if err := s.adm.start(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
		}
	}
	guard := newConnGuard(ln, s.opts.MaxConns, s.opts.MaxConnsPerIP,
		s.metrics.connsClosed.WithLabelValues("refused").Inc, s.metrics.connsClosed.WithLabelValues("evicted").Inc)
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{
		ConnState:         guard.connState,
		Handler:           s.engine,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.done = make(chan error, 1)
	srv := s.srv
	s.mu.Unlock()
	go func() {
		err := srv.Serve(guard)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.startSweeper()
	s.log.Info("listening", "addr", ln.Addr().String(), "base_url", s.BaseURL())
	return nil
}

// Addr returns the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// BaseURL returns the server's base URL without a trailing slash.
func (s *Server) BaseURL() string { return s.urls.Base() }

// URLs returns the server's pod URL scheme.
func (s *Server) URLs() podurl.Scheme { return s.urls }

// urlScheme builds the pod URL scheme opts describe. Without a BaseURL the
// base is http:// and Addr; for port 0 it listens first, to learn the
// port, and returns the listener for Start.
func urlScheme(opts Options) (podurl.Scheme, net.Listener, error) {
	u, ln, err := baseScheme(opts)
	if err == nil && len(opts.Aliases) > 0 {
		u, err = u.WithAliases(opts.Aliases...)
	}
	if err != nil && ln != nil {
		_ = ln.Close()
		ln = nil
	}
	return u, ln, err
}

// baseScheme is urlScheme without the aliases.
func baseScheme(opts Options) (podurl.Scheme, net.Listener, error) {
	if opts.BaseURL != "" {
		u, err := podurl.New(opts.BaseURL, opts.PodNaming)
		return u, nil, err
	}
	_, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return podurl.Scheme{}, nil, fmt.Errorf("listen address %q: %w", opts.Addr, err)
	}
	var ln net.Listener
	if port == "0" {
		if ln, err = net.Listen("tcp", opts.Addr); err != nil {
			return podurl.Scheme{}, nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
	}
	u, err := podurl.New("http://"+defaultHost(opts.Addr, port), opts.PodNaming)
	if err != nil && ln != nil {
		_ = ln.Close()
	}
	return u, ln, err
}

// Handler returns the server's HTTP handler, for use with httptest. Set
// Options.BaseURL to the URL it is served at.
func (s *Server) Handler() http.Handler { return s.engine }

// Keys returns the server's API key registry.
func (s *Server) Keys() *acl.Keys { return s.keys }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.st }

// Shutdown stops accepting connections, waits for in-flight requests until
// ctx is done, then closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done, ln := s.srv, s.done, s.ln
	s.mu.Unlock()
	var errs []error
	if srv == nil && ln != nil {
		_ = ln.Close() // bound by New, never served
	}
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	// Purges and the sweep stop first: they resume at the next start.
	s.adm.close()
	s.stopSweeper()
	// The notifier first: the delivery queue, closed with the events,
	// stores the push notifications it was handed.
	s.nt.close()
	s.ev.close()
	s.keys.Wait()
	if err := s.st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	return errors.Join(errs...)
}

// defaultHost is the host of the default base URL: the host named in addr
// ("localhost" when it names none or a wildcard) with port, the one
// actually bound.
func defaultHost(addr, port string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// outboundClient returns the HTTP client for requests to other servers:
// private and loopback addresses refused after DNS resolution (unless
// Options.AllowPrivateTargets), bounded time and response size, and no
// redirects (a redirected POST would lose its body).
func (s *Server) outboundClient() *http.Client {
	return netguard.NewClient(netguard.Policy{AllowPrivate: s.opts.AllowPrivateTargets},
		netguard.ClientOptions{Timeout: 10 * time.Second, MaxRedirects: -1})
}
