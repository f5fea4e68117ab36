package rdf

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Fetcher GETs a document: it calls read with the response's Content-Type
// and body (at most maxBytes of it) and returns read's error, or its own
// when the fetch fails. netguard.Fetcher.Fetch is one: the address policy,
// redirects and concurrency limits are the fetcher's, never this
// package's.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL, accept string, maxBytes int64, read func(contentType string, body []byte) error) error
}

// Defaults of ReaderOptions.
const (
	DefaultMaxContextBytes     = 1 << 20
	DefaultContextTimeout      = 5 * time.Second
	DefaultContextTTL          = time.Hour
	DefaultContextFailureTTL   = 30 * time.Second
	DefaultContextCacheEntries = 512
	DefaultContextCacheBytes   = 32 << 20
	DefaultMaxContextDepth     = 4
	DefaultMaxContextsPerDoc   = 16
)

// Bounds of the remote context loads of one document: json-gold processes
// a context again on each use of a term whose scoped context names it,
// copying and processing the whole document each time.
const (
	maxContextLoadsPerDoc = 256
	maxContextBytesPerDoc = 16 << 20
)

// ReaderOptions configure NewReader. Zero values mean the defaults.
type ReaderOptions struct {
	// Fetcher fetches remote contexts; nil loads none: a document may then
	// name only the built-in contexts (KnownContexts), as Parse does.
	Fetcher Fetcher
	// MaxContextBytes bounds a remote context document.
	MaxContextBytes int64
	// Timeout bounds one fetch.
	Timeout time.Duration
	// TTL is how long a fetched context is used before it is fetched
	// again; a context that fails to refresh is used as it was for
	// FailureTTL more each time.
	TTL time.Duration
	// FailureTTL is how long a context that failed to load is not fetched
	// again: documents naming it are refused with the same error.
	FailureTTL time.Duration
	// CacheEntries and CacheBytes bound the cache of remote contexts (and
	// of failures), least recently used dropped first.
	CacheEntries int
	CacheBytes   int64
	// MaxDepth bounds how deep remote contexts may include remote
	// contexts (a document's context including one that includes another
	// is 2 deep).
	MaxDepth int
	// MaxPerDocument bounds the distinct remote contexts one document
	// may use, through every inclusion.
	MaxPerDocument int
	// Transient reports fetch errors that say nothing about the URL (the
	// fetcher is busy); they are not remembered as failures.
	Transient func(error) bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Reader reads RDF documents as Parse, Validate, ParseJSONLD and
// ExpandJSONLD do, and loads the remote JSON-LD contexts they name that
// are not built in: fetched through its Fetcher (one fetch at a time per
// URL, however many documents wait for it), bounded in size and time,
// cached, and refused for a while after a failure. A nil *Reader loads no
// remote context. It is safe for concurrent use.
type Reader struct {
	opts ReaderOptions

	mu       sync.Mutex
	entries  map[string]*list.Element // URL -> *contextEntry
	lru      list.List                // front: most recently used
	bytes    int64
	inflight map[string]*contextFetch
}

// contextEntry is a cached remote context, or the failure to load one.
type contextEntry struct {
	url     string
	doc     any      // the decoded document, never mutated; nil on failure
	refs    []string // the remote contexts it includes (see includedContexts)
	err     error    // a *ContextError, or nil
	size    int64
	expires time.Time
}

// contextFetch is a fetch in progress that others wait for.
type contextFetch struct {
	done  chan struct{}
	entry *contextEntry
}

// NewReader returns a Reader loading remote contexts with opts.Fetcher.
func NewReader(opts ReaderOptions) *Reader {
	if opts.MaxContextBytes <= 0 {
		opts.MaxContextBytes = DefaultMaxContextBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultContextTimeout
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultContextTTL
	}
	if opts.FailureTTL <= 0 {
		opts.FailureTTL = DefaultContextFailureTTL
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = DefaultContextCacheEntries
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultContextCacheBytes
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxContextDepth
	}
	if opts.MaxPerDocument <= 0 {
		opts.MaxPerDocument = DefaultMaxContextsPerDoc
	}
	if opts.Transient == nil {
		opts.Transient = func(error) bool { return false }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reader{opts: opts, entries: map[string]*list.Element{}, inflight: map[string]*contextFetch{}}
}

// loadsRemote reports whether r fetches remote contexts.
func (r *Reader) loadsRemote() bool { return r != nil && r.opts.Fetcher != nil }

// ContextError reports a remote context that could not be used: it could
// not be fetched, is not a JSON-LD context, or includes too many others.
// The HTTP layer answers it with 400 Bad Request.
type ContextError struct {
	// URL is the context.
	URL string
	// Err says why.
	Err error
	// Temporary is set when the fetcher refused the fetch for its own
	// limits (ReaderOptions.Transient): the context may well load later.
	Temporary bool
}

// Error names the context and the reason.
func (e *ContextError) Error() string {
	return fmt.Sprintf("cannot load remote context %s: %v", e.URL, e.Err)
}

// Unwrap returns the reason.
func (e *ContextError) Unwrap() error { return e.Err }

// Reasons a fetched document is not a usable context.
var (
	errNotContext = errors.New("not a JSON-LD context: the document must be a JSON object with an @context entry")
	// errContextLoop: a context includes itself.
	errContextLoop = errors.New("contexts include each other in a loop")
)

// load returns the entry of the remote context u, from the cache or
// fetched. Concurrent loads of one URL share one fetch, which is not
// cancelled when one of the waiting documents gives up.
func (r *Reader) load(ctx context.Context, u string) (*contextEntry, error) {
	now := r.opts.Now()
	r.mu.Lock()
	var stale *contextEntry
	if el, ok := r.entries[u]; ok {
		e := el.Value.(*contextEntry)
		if now.Before(e.expires) {
			r.lru.MoveToFront(el)
			r.mu.Unlock()
			return e, nil
		}
		stale = e
	}
	f, ok := r.inflight[u]
	if !ok {
		f = &contextFetch{done: make(chan struct{})}
		r.inflight[u] = f
		go r.fetch(context.WithoutCancel(ctx), u, f, stale)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.entry, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("loading remote context %s: %w", u, ctx.Err())
	}
}

// fetch fetches u for f and caches the outcome. A failure to refresh
// stale (an earlier copy) keeps the copy for FailureTTL more; a transient
// failure is not cached.
func (r *Reader) fetch(ctx context.Context, u string, f *contextFetch, stale *contextEntry) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	e := &contextEntry{url: u}
	err := r.opts.Fetcher.Fetch(ctx, u, "application/ld+json, application/json;q=0.9, */*;q=0.1", r.opts.MaxContextBytes,
		func(ct string, body []byte) error {
			doc, refs, err := decodeContext(u, ct, body)
			e.doc, e.refs, e.size = doc, refs, int64(len(body))
			return err
		})
	now := r.opts.Now()
	keep := true
	switch {
	case err == nil:
		e.expires = now.Add(r.opts.TTL)
	case stale != nil && stale.doc != nil:
		e = &contextEntry{url: u, doc: stale.doc, refs: stale.refs, size: stale.size, expires: now.Add(r.opts.FailureTTL)}
	default:
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", r.opts.Timeout)
		}
		keep = !r.opts.Transient(err)
		e = &contextEntry{url: u, err: &ContextError{URL: u, Err: err, Temporary: !keep}, size: int64(len(u)), expires: now.Add(r.opts.FailureTTL)}
	}
	r.mu.Lock()
	delete(r.inflight, u)
	if el, ok := r.entries[u]; ok {
		r.removeLocked(el)
	}
	if keep && e.size <= r.opts.CacheBytes {
		r.entries[u] = r.lru.PushFront(e)
		r.bytes += e.size
		for r.lru.Len() > r.opts.CacheEntries || r.bytes > r.opts.CacheBytes {
			r.removeLocked(r.lru.Back())
		}
	}
	r.mu.Unlock()
	f.entry = e
	close(f.done)
}

// removeLocked drops a cache entry; r.mu must be held.
func (r *Reader) removeLocked(el *list.Element) {
	e := r.lru.Remove(el).(*contextEntry)
	delete(r.entries, e.url)
	r.bytes -= e.size
}

// decodeContext checks a fetched context document (a JSON object with an
// @context entry, within jsoncheck's limits) and returns it decoded, with
// the remote contexts it includes.
func decodeContext(u, contentType string, body []byte) (any, []string, error) {
	doc, err := decodeJSONLD(body)
	if err != nil {
		if mt := baseMediaType(contentType); mt != "" && !strings.Contains(mt, "json") {
			return nil, nil, fmt.Errorf("the document is %s, not JSON-LD: %w", mt, err)
		}
		return nil, nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, errNotContext
	}
	if _, ok := m["@context"]; !ok {
		return nil, nil, errNotContext
	}
	return doc, includedContexts(u, m), nil
}

// includedContexts returns the absolute URLs of the remote contexts a
// context value includes anywhere: strings naming a context, in an
// @context (of the value or of its term definitions) or an @import,
// resolved against base, the URL of the document holding them. It writes
// them back resolved, as JSON-LD asks (json-gold would resolve them
// against the base of the document using the context instead). It may
// name more than json-gold will load, never fewer.
func includedContexts(base string, v any) []string {
	var refs []string
	var walk func(v any, isContext bool) any
	walk = func(v any, isContext bool) any {
		switch v := v.(type) {
		case string:
			if isContext {
				abs := ResolveIRI(base, v)
				refs = append(refs, abs)
				return abs
			}
		case []any:
			for i, e := range v {
				v[i] = walk(e, isContext)
			}
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e, k == "@context" || k == "@import")
			}
		}
		return v
	}
	walk(v, true)
	return refs
}

// docContexts is the remote context loading of one document: it checks
// the chain of each remote context it uses before json-gold sees it, and
// counts its loads.
type docContexts struct {
	r      *Reader
	ctx    context.Context
	base   string
	height map[string]int // checked context -> depth of its inclusions below it
	loads  int
	bytes  int64 // the size of the context documents loaded, each time
}

// load returns the document of the remote context u for json-gold.
func (d *docContexts) load(u string) (any, error) {
	d.loads++
	if d.loads > maxContextLoadsPerDoc {
		return nil, &ContextError{URL: u, Err: fmt.Errorf("the document uses remote contexts more than %d times", maxContextLoadsPerDoc)}
	}
	if _, err := d.check(u, nil); err != nil {
		return nil, err
	}
	e, err := d.r.load(d.ctx, u)
	if err != nil {
		return nil, &ContextError{URL: u, Err: err}
	}
	if e.err != nil {
		return nil, e.err
	}
	if d.bytes += e.size; d.bytes > maxContextBytesPerDoc {
		return nil, &ContextError{URL: u, Err: fmt.Errorf("the document uses more than %d MiB of remote contexts, counting each use", maxContextBytesPerDoc>>20)}
	}
	return cloneJSON(e.doc), nil
}

// check loads u and, depth first, the remote contexts it includes,
// refusing a loop, a chain deeper than MaxDepth and more than
// MaxPerDocument distinct contexts; path is the chain that includes u. It
// returns the depth of the inclusions below u.
func (d *docContexts) check(u string, path []string) (int, error) {
	for i, p := range path {
		if p == u {
			return 0, &ContextError{URL: path[0], Err: fmt.Errorf("%w: %s", errContextLoop, strings.Join(append(path[i:], u), " -> "))}
		}
	}
	if h, ok := d.height[u]; ok {
		if len(path)+1+h > d.r.opts.MaxDepth {
			return 0, d.tooDeep(append(path, u))
		}
		return h, nil
	}
	if len(path)+1 > d.r.opts.MaxDepth {
		return 0, d.tooDeep(append(path, u))
	}
	if len(d.height) >= d.r.opts.MaxPerDocument {
		return 0, &ContextError{URL: u, Err: fmt.Errorf("the document uses more than %d remote contexts", d.r.opts.MaxPerDocument)}
	}
	e, err := d.r.load(d.ctx, u)
	if err != nil {
		return 0, &ContextError{URL: u, Err: err}
	}
	if e.err != nil {
		return 0, e.err
	}
	h := 0
	for _, ref := range e.refs {
		if d.builtin(ref) {
			continue
		}
		sub, err := d.check(ref, append(path, u))
		if err != nil {
			return 0, err
		}
		h = max(h, sub+1)
	}
	d.height[u] = h
	return h, nil
}

// builtin reports whether u is served without a fetch.
func (d *docContexts) builtin(u string) bool {
	if _, ok := knownContext(u); ok {
		return true
	}
	_, ok := localContext(u, d.base)
	return ok
}

func (d *docContexts) tooDeep(chain []string) error {
	return &ContextError{URL: chain[0], Err: fmt.Errorf("remote contexts include remote contexts more than %d deep: %s",
		d.r.opts.MaxDepth, strings.Join(chain, " -> "))}
}
