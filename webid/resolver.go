package webid

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"podserver/expmap"
	"podserver/netguard"
	"podserver/rdf"
)

// AcceptHeader is the Accept header of profile requests.
const AcceptHeader = "text/turtle, application/ld+json;q=0.9"

// Defaults of Options.
const (
	DefaultTTL                 = 5 * time.Minute
	DefaultErrorTTL            = 5 * time.Second
	DefaultMaxEntries          = 1024
	DefaultMaxProfileBytes     = 256 << 10
	DefaultMinRefreshInterval  = 30 * time.Second
	DefaultMaxStale            = 24 * time.Hour
	DefaultFetchTimeout        = 10 * time.Second
	DefaultMaxConcurrentParses = 2
)

// Options configure a Resolver. Zero values mean the defaults.
type Options struct {
	// Fetcher fetches profiles. Share one Fetcher between the fetchers of
	// documents one kind of trigger asks for, so its concurrency limits and
	// host failure memory hold for all of them, and give unauthenticated
	// requests (signatures' key ids) one apart from the server's own work
	// (deliveries); nil means a Fetcher of its own over Client.
	Fetcher *netguard.Fetcher
	// Client is the client of the Fetcher made when Fetcher is nil. It
	// should come from netguard.NewClient; nil means
	// netguard.NewClient(netguard.Policy{}, ...), which refuses private
	// addresses.
	Client *http.Client
	// TTL is how long a fetched profile is used.
	TTL time.Duration
	// ErrorTTL is how long a failed fetch is remembered (whatever failed:
	// the connection, the status, the size, the parse), so a dead, slow or
	// hostile server is not asked again for each request; negative: not at
	// all. ErrBusy is never remembered: it is not the document's fault.
	ErrorTTL time.Duration
	// MaxEntries bounds the number of cached documents.
	MaxEntries int
	// MaxProfileBytes bounds the size of a profile document.
	MaxProfileBytes int64
	// MaxProfileTerms bounds the terms (RDF terms, JSON keys and values)
	// of a profile document, which bounds the triples a parse makes.
	MaxProfileTerms int
	// MaxExpandedSize bounds the bytes a profile's terms may expand to
	// (prefixes, contexts, base); see cost.go for how it is estimated.
	MaxExpandedSize int64
	// MaxNesting bounds how deeply a profile's brackets may nest.
	MaxNesting int
	// MaxContexts bounds the "@context" members of a JSON-LD profile.
	MaxContexts int
	// MaxConcurrentParses bounds the profiles parsed at once; the others
	// wait for their turn (a parse within the bounds above is quick).
	MaxConcurrentParses int
	// MaxStale is how long after its last successful fetch a profile is
	// still served when refetching it fails (the server is down, or an
	// attacker forced a refetch while the host was refused): a failed
	// fetch never replaces a good copy younger than this.
	MaxStale time.Duration
	// MinRefreshInterval is the least time between two fetches of one
	// document forced by a missing or failing key (key rotation).
	MinRefreshInterval time.Duration
	// FetchTimeout bounds one fetch, whoever waits for it.
	FetchTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Resolver fetches and caches WebID profile documents. It is safe for
// concurrent use; concurrent requests for one document share one fetch.
type Resolver struct {
	opts   Options
	parses chan struct{} // parse slots

	mu       sync.Mutex
	cache    map[string]*entry // document URL -> entry
	inflight map[string]*call  // document URL -> fetch in progress
}

// entry is a cached fetch result.
type entry struct {
	doc *document
	err error
	// fetched is the time of the last fetch, successful or not; docTime
	// the time doc was fetched.
	fetched time.Time
	docTime time.Time
	expires time.Time
}

// call is a fetch in progress; done is closed when res is set.
type call struct {
	done chan struct{}
	res  entry
}

// NewResolver returns a Resolver with an empty cache.
func NewResolver(opts Options) *Resolver {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.ErrorTTL == 0 {
		opts.ErrorTTL = DefaultErrorTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxProfileBytes <= 0 {
		opts.MaxProfileBytes = DefaultMaxProfileBytes
	}
	if opts.MaxProfileTerms <= 0 {
		opts.MaxProfileTerms = DefaultMaxProfileTerms
	}
	if opts.MaxExpandedSize <= 0 {
		opts.MaxExpandedSize = DefaultMaxExpandedSize
	}
	if opts.MaxNesting <= 0 {
		opts.MaxNesting = DefaultMaxNesting
	}
	if opts.MaxContexts <= 0 {
		opts.MaxContexts = DefaultMaxContexts
	}
	if opts.MaxConcurrentParses <= 0 {
		opts.MaxConcurrentParses = DefaultMaxConcurrentParses
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = DefaultMaxStale
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Fetcher == nil {
		if opts.Client == nil {
			opts.Client = netguard.NewClient(netguard.Policy{}, netguard.ClientOptions{
				Timeout:          opts.FetchTimeout,
				MaxResponseBytes: opts.MaxProfileBytes,
			})
		}
		opts.Fetcher = netguard.NewFetcher(opts.Client, netguard.FetchLimits{Now: opts.Now})
	}
	return &Resolver{
		opts:     opts,
		parses:   make(chan struct{}, opts.MaxConcurrentParses),
		cache:    map[string]*entry{},
		inflight: map[string]*call{},
	}
}

// Profile returns the profile of webID: its inbox and keys, from the cache
// or by fetching the profile document (webID without its fragment).
func (r *Resolver) Profile(ctx context.Context, webID string) (*Profile, error) {
	res, _, err := r.documentOf(ctx, webID)
	if err != nil {
		return nil, err
	}
	return res.doc.profile(webID)
}

// documentOf returns the cached or fetched profile document of webID and
// its URL (webID without its fragment).
func (r *Resolver) documentOf(ctx context.Context, webID string) (entry, string, error) {
	if err := checkHTTPURL(webID); err != nil {
		return entry{}, "", fmt.Errorf("%w: %w", ErrBadWebID, err)
	}
	docURL, _ := splitFragment(webID)
	res := r.get(ctx, docURL, false)
	return res, docURL, res.err
}

// Invalidate drops the cached document of a WebID, key id or document
// URL, for example after its inbox answered 404.
func (r *Resolver) Invalidate(u string) {
	docURL, _ := splitFragment(u)
	r.mu.Lock()
	delete(r.cache, docURL)
	r.mu.Unlock()
}

// get returns the document at docURL: from the cache when fresh (and not
// forced), else from a new fetch or one already in progress.
func (r *Resolver) get(ctx context.Context, docURL string, force bool) entry {
	r.mu.Lock()
	if e := r.cache[docURL]; e != nil && !force && r.opts.Now().Before(e.expires) {
		r.mu.Unlock()
		return *e
	}
	c := r.inflight[docURL]
	if c == nil {
		c = &call{done: make(chan struct{})}
		r.inflight[docURL] = c
		// The fetch outlives the caller who started it: others may wait
		// for it too. It keeps the caller's values, not its cancellation.
		go r.run(context.WithoutCancel(ctx), docURL, c)
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.res
	case <-ctx.Done():
		return entry{err: fmt.Errorf("%w: %s: %w", ErrFetch, docURL, ctx.Err())}
	}
}

// run fetches docURL, stores the result in the cache and wakes the waiters.
// A failed fetch keeps a good cached copy younger than MaxStale (served
// until ErrorTTL passes, then asked again); the fetcher's own refusals
// (ErrBusy, ErrHostFailing) are never cached, as they are not the
// document's.
func (r *Resolver) run(ctx context.Context, docURL string, c *call) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
	defer cancel()
	doc, err := r.fetch(ctx, docURL)
	now := r.opts.Now()
	c.res = entry{doc: doc, err: err, fetched: now, docTime: now, expires: now.Add(r.opts.TTL)}
	refused := errors.Is(err, netguard.ErrBusy) || errors.Is(err, netguard.ErrHostFailing)
	r.mu.Lock()
	old := r.cache[docURL]
	switch {
	case err == nil:
		r.store(docURL, c.res)
	case old != nil && old.err == nil && now.Sub(old.docTime) < r.opts.MaxStale:
		c.res = *old
		c.res.fetched = now
		c.res.expires = now.Add(max(r.opts.ErrorTTL, 0))
		r.store(docURL, c.res)
	case r.opts.ErrorTTL > 0 && !refused:
		c.res.expires = now.Add(r.opts.ErrorTTL)
		r.store(docURL, c.res)
	default:
		delete(r.cache, docURL)
	}
	delete(r.inflight, docURL)
	r.mu.Unlock()
	close(c.done)
}

// store caches e, evicting expired entries and then the entries closest to
// expiry to stay within MaxEntries (expmap.MakeRoom). r.mu must be held.
func (r *Resolver) store(docURL string, e entry) {
	expmap.MakeRoom(r.cache, docURL, r.opts.MaxEntries, r.opts.Now(), func(e *entry) time.Time { return e.expires })
	r.cache[docURL] = &e
}

// fetch GETs and parses one profile document, within the Fetcher's
// limits and the parse cost bounds.
func (r *Resolver) fetch(ctx context.Context, docURL string) (*document, error) {
	var doc *document
	err := r.opts.Fetcher.Fetch(ctx, docURL, AcceptHeader, r.opts.MaxProfileBytes, func(ct string, body []byte) error {
		var err error
		doc, err = r.parse(ctx, docURL, ct, body)
		return err
	})
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, ErrMalformedProfile):
		return nil, err
	case errors.Is(err, netguard.ErrResponseTooLarge):
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedProfile, docURL, err)
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrFetch, docURL, err)
}

// parse reads a fetched profile document, refusing one that may cost more
// than the bounds of the Options to parse before parsing it.
func (r *Resolver) parse(ctx context.Context, docURL, ct string, body []byte) (*document, error) {
	if ct == "" {
		return nil, fmt.Errorf("%w: %s has no Content-Type", ErrMalformedProfile, docURL)
	}
	var c cost
	if mediaTypeIsJSON(ct) {
		var err error
		if c, err = jsonldCost(body, docURL, r.opts.MaxProfileTerms); err != nil {
			return nil, fmt.Errorf("%w: %s: not JSON: %w", ErrMalformedProfile, docURL, err)
		}
	} else {
		c = turtleCost(body, docURL)
	}
	lim := costLimits{terms: r.opts.MaxProfileTerms, expanded: r.opts.MaxExpandedSize, nesting: r.opts.MaxNesting, contexts: r.opts.MaxContexts}
	if err := c.check(lim); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedProfile, docURL, err)
	}
	select {
	case r.parses <- struct{}{}:
		defer func() { <-r.parses }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: waiting to parse: %w", ErrFetch, docURL, ctx.Err())
	}
	quads, err := rdf.Parse(ct, body, docURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedProfile, docURL, err)
	}
	return parseDocument(docURL, quads), nil
}

// Key returns the key with the given id (https://host/pod/profile/card#key)
// from its profile document. A key id missing from a cached document
// refetches it, at most once per MinRefreshInterval, in case the key was
// added since.
func (r *Resolver) Key(ctx context.Context, keyID string) (*Key, error) {
	return r.key(ctx, keyID, false)
}

// ResolveKey returns the public key of a key id; it fits
// httpsig.Verifier.Resolve.
func (r *Resolver) ResolveKey(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	k, err := r.key(ctx, keyID, false)
	if err != nil {
		return nil, err
	}
	return k.Public, nil
}

// RefreshKey refetches the document of a key id, unless it was fetched
// less than MinRefreshInterval ago, and returns the key; it fits
// httpsig.Verifier.Refresh, which calls it when a signature does not verify
// with the cached key (the signer may have rotated its key).
func (r *Resolver) RefreshKey(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	k, err := r.key(ctx, keyID, true)
	if err != nil {
		return nil, err
	}
	return k.Public, nil
}

// KeyResolver returns ResolveKey as a function for httpsig.Verifier.Resolve.
func (r *Resolver) KeyResolver() func(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	return r.ResolveKey
}

func (r *Resolver) key(ctx context.Context, keyID string, refresh bool) (*Key, error) {
	docURL, frag := splitFragment(keyID)
	if err := checkHTTPURL(docURL); err != nil || frag == "" {
		return nil, fmt.Errorf("%w: key id %q needs an http(s) URL and a fragment", ErrBadWebID, keyID)
	}
	res := r.get(ctx, docURL, false)
	if res.err != nil {
		return nil, res.err
	}
	_, found := res.doc.keys[keyID]
	if (refresh || !found) && r.opts.Now().Sub(res.fetched) >= r.opts.MinRefreshInterval {
		if res = r.get(ctx, docURL, true); res.err != nil {
			return nil, res.err
		}
	}
	e, ok := res.doc.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, keyID)
	}
	if e.err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedProfile, keyID, e.err)
	}
	k := e.key
	k.Public = append(ed25519.PublicKey(nil), k.Public...) // the cached document stays unchanged
	return &k, nil
}
