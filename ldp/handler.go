package ldp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/rdf"
	"podserver/store"
)

// ChangeKind says what happened to a resource.
type ChangeKind uint8

// The kinds of change.
const (
	Created ChangeKind = iota + 1
	Updated
	Deleted
)

// Change describes a durable write of a resource, as read from the store's
// change feed (see ResourceChange).
type Change struct {
	Kind ChangeKind
	// Path is the storage path of the resource.
	Path string
	// ETag is the new entity tag ("" after a delete).
	ETag string
}

// Hooks let the server extend the LDP handler: what a write may hold, and
// what a response carries. They are not how anything learns of changes:
// caches and notifications follow the store's change feed (see
// store.Watch and ResourceChange), which also reports writes that bypass
// this handler.
type Hooks struct {
	// Validate checks a write's body before it is stored; a returned error
	// refuses the write (an *apierr.Error keeps its status, anything else is
	// a 400 with its text). mt is the media type without parameters.
	Validate func(ctx context.Context, r *Request, p, mt string, body []byte) error
	// Headers adds response headers to every LDP response for p (e.g.
	// links to the storage description).
	Headers func(c *gin.Context, r *Request, p string)
	// Redact, if set, may replace the body of a non-container resource
	// before r reads it (e.g. to withhold secrets from agents other than
	// the owner). It returns the body to serve and true, or false to serve
	// the resource as stored. A redacted representation has its own ETag
	// (the stored one with "-r" added) and is never cached.
	Redact func(r *Request, res *Resource) ([]byte, bool)
}

// Handler serves LDP requests for resources and containers.
type Handler struct {
	repo  *Repo
	auth  Authorizer
	log   *slog.Logger
	max   int64
	hooks Hooks
	reps  *repCache
	// seqNamed: see Config.SeqNamed.
	seqNamed func(container string) bool
	// ctxURL: see Config.ContextURL.
	ctxURL string
	// patching queues the PATCHes of each resource (see Patch).
	patching pathLocks
	// reader: see Config.RDF.
	reader *rdf.Reader
}

// Config configures a Handler.
type Config struct {
	Repo       *Repo
	Authorizer Authorizer
	Logger     *slog.Logger
	// MaxBodyBytes bounds request bodies (default 10 MiB).
	MaxBodyBytes int64
	// CacheBytes bounds the cache of converted representations (default
	// 32 MiB).
	CacheBytes int64
	Hooks      Hooks
	// SeqNamed, if set, reports the containers whose members are all
	// created with AppendSeqMember (they have no membership keys), so that
	// their listings come from ListSeqNamed.
	SeqNamed func(container string) bool
	// ContextURL is the URL where the server serves podserver's JSON-LD
	// context (rdf.ContextURL of its base). JSON-LD is sent naming it
	// (rdf.Portable); "" sends rdf.ContextURI, which nobody else can load.
	ContextURL string
	// RDF reads the RDF resources written and converted, loading the
	// remote JSON-LD contexts they name; nil: the built-in contexts only.
	// ACLs are always read with the built-in contexts only, as the
	// authorizer reads them.
	RDF *rdf.Reader
}

// NewHandler returns a Handler.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 32 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{repo: cfg.Repo, auth: cfg.Authorizer, log: cfg.Logger, max: cfg.MaxBodyBytes, hooks: cfg.Hooks, reps: newRepCache(cfg.CacheBytes), seqNamed: cfg.SeqNamed, ctxURL: cfg.ContextURL, reader: cfg.RDF}
}

// Repo returns the handler's repository.
func (h *Handler) Repo() *Repo { return h.repo }

// Serve dispatches r, the request c carries, on its method.
func (h *Handler) Serve(c *gin.Context, r *Request) error {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
		return h.Get(c, r)
	case http.MethodPut:
		return h.Put(c, r)
	case http.MethodPost:
		return h.Post(c, r)
	case http.MethodDelete:
		return h.Delete(c, r)
	case http.MethodOptions:
		return h.Options(c, r)
	case http.MethodPatch:
		return h.Patch(c, r)
	}
	return errMethod(r.Target.Path)
}

func errMethod(p string) error {
	return apierr.Newf(http.StatusMethodNotAllowed, msgMethod, allow(p)).With("Allow", allow(p))
}

// Authorize checks that r's principal has mode need on storage path p. An
// ACL document needs Control on the resource it governs. It returns the 401
// or 403 to send otherwise.
func (h *Handler) Authorize(ctx context.Context, r *Request, p string, need acl.Mode) error {
	if IsACL(p) {
		p, need = ACLSubject(p), acl.Control
	}
	m, err := h.auth.Modes(ctx, r, p)
	if err != nil {
		return err
	}
	if m.Grants(need) {
		return nil
	}
	if r.Principal.Anonymous() {
		return apierr.Unauthenticated()
	}
	return apierr.Forbidden()
}

// wacAllow returns the WAC-Allow header for p.
func (h *Handler) wacAllow(ctx context.Context, r *Request, p string) string {
	user, err := h.auth.Modes(ctx, r, p)
	if err != nil {
		return ""
	}
	pub := user
	if !r.Principal.Anonymous() {
		anon := &Request{Target: r.Target, Origin: r.Origin}
		if pub, err = h.auth.Modes(ctx, anon, p); err != nil {
			return ""
		}
	}
	return acl.WACAllow(user, pub)
}

// ReadHeaders sets the headers of a successful GET or HEAD of p besides
// its representation's own (Content-Type, ETag): the common LDP headers
// (Link, Allow, Accept-*, Vary) and WAC-Allow. Handlers that serve a
// resource themselves (the inbox listing) call it too, so that every
// representation of p carries the same headers.
func (h *Handler) ReadHeaders(c *gin.Context, r *Request, p string) {
	h.setCommonHeaders(c, r, p)
	if v := h.wacAllow(c.Request.Context(), r, p); v != "" {
		c.Header("WAC-Allow", v)
	}
}

// allow returns the methods allowed on p.
func allow(p string) string {
	switch {
	case IsRoot(p):
		return "OPTIONS, HEAD, GET, POST, PUT"
	case IsRoot(Parent(p)) && Name(p) == ".acl":
		return "OPTIONS, HEAD, GET, PUT, PATCH"
	case IsContainer(p):
		return "OPTIONS, HEAD, GET, POST, PUT, DELETE"
	}
	return "OPTIONS, HEAD, GET, PUT, PATCH, DELETE"
}

// setCommonHeaders sets the headers every LDP response for p carries.
func (h *Handler) setCommonHeaders(c *gin.Context, r *Request, p string) {
	hd := c.Writer.Header()
	hd.Add("Link", `<http://www.w3.org/ns/ldp#Resource>; rel="type"`)
	if IsContainer(p) {
		hd.Add("Link", `<http://www.w3.org/ns/ldp#Container>; rel="type"`)
		hd.Add("Link", `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`)
		hd.Set("Accept-Post", "*/*")
	}
	if IsRoot(p) {
		hd.Add("Link", `<http://www.w3.org/ns/pim/space#Storage>; rel="type"`)
		hd.Add("Link", `<`+r.Target.WebID()+`>; rel="http://www.w3.org/ns/solid/terms#owner"`)
	}
	if !IsACL(p) {
		hd.Add("Link", `<`+r.Target.URL(ACLPath(p))+`>; rel="acl"`)
	}
	hd.Set("Allow", allow(p))
	hd.Set("Accept-Put", strings.Join(append(readableRDF(), "*/*"), ", "))
	if !IsContainer(p) {
		hd.Set("Accept-Patch", strings.Join(patchTypes(), ", "))
	}
	hd.Add("Vary", "Accept")
	if h.hooks.Headers != nil {
		h.hooks.Headers(c, r, p)
	}
}

// Options answers OPTIONS without authentication: it reveals only what the
// path's shape implies, never whether the resource exists.
func (h *Handler) Options(c *gin.Context, r *Request) error {
	h.setCommonHeaders(c, r, r.Target.Path)
	c.Status(http.StatusNoContent)
	return nil
}

func preconditions(req *http.Request) Preconditions {
	return Preconditions{IfMatch: req.Header.Get("If-Match"), IfNoneMatch: req.Header.Get("If-None-Match")}
}

// Get serves GET and HEAD.
func (h *Handler) Get(c *gin.Context, r *Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if err := h.Authorize(ctx, r, p, acl.Read); err != nil {
		return err
	}
	res, err := h.repo.Get(ctx, p)
	if errors.Is(err, ErrNotFound) {
		return apierr.NotFound()
	}
	if err != nil {
		return err
	}
	h.ReadHeaders(c, r, p)
	if IsContainer(p) {
		return h.serveContainer(c, r, res)
	}
	if h.hooks.Redact != nil {
		if body, ok := h.hooks.Redact(r, res); ok {
			red := *res
			red.Body = body
			return h.serveRepresentation(c, r, &red, "r")
		}
	}
	return h.serveResource(c, r, res)
}

// checkRead applies If-Match / If-None-Match to a read of etag: it writes
// 304 or returns a 412 and reports whether the handler is done.
func checkRead(c *gin.Context, etag string) (bool, error) {
	pc := preconditions(c.Request)
	if pc.IfMatch != "" && !etagListMatch(pc.IfMatch, etag, false) {
		return true, apierr.New(http.StatusPreconditionFailed, msgIfMatch)
	}
	if pc.IfNoneMatch != "" && etagListMatch(pc.IfNoneMatch, etag, false) {
		c.Header("ETag", etag)
		c.Status(http.StatusNotModified)
		return true, nil
	}
	return false, nil
}

func (h *Handler) serveResource(c *gin.Context, r *Request, res *Resource) error {
	return h.serveRepresentation(c, r, res, "")
}

// serveRepresentation serves res. A non-empty variant marks a body that is
// not the stored one (see Hooks.Redact): it is added to the ETag, and
// conversions of it are made afresh instead of cached.
func (h *Handler) serveRepresentation(c *gin.Context, r *Request, res *Resource, variant string) error {
	mt := res.Meta.ContentType
	body := res.Body
	etag := res.Meta.ETag()
	if variant != "" {
		etag = `"` + strings.Trim(etag, `"`) + "-" + variant + `"`
	}
	if IsRDF(mt) {
		// The stored type is offered first, so it is served as is when the
		// client has no preference; ACL documents default to Turtle, as
		// Solid clients expect.
		first := mt
		if IsACL(res.Path) {
			first = MediaTurtle
		}
		offers := append([]string{first, mt}, rdfTypes...)
		offers = append(offers, MediaJSON)
		want, ok := Negotiate(c.GetHeader("Accept"), offers)
		if !ok {
			return apierr.Newf(http.StatusNotAcceptable, msgResourceTypes, strings.Join(rdfTypes, ", "))
		}
		if want == MediaJSON {
			want = MediaJSONLD
		}
		if want != mt {
			etag = `"` + strings.Trim(etag, `"`) + "-" + repSuffix(want) + `"`
			convert := func() ([]byte, error) {
				q, err := h.parseStored(c.Request.Context(), mt, res.Body, r.Target.URL(res.Path), want)
				if err != nil {
					return nil, err
				}
				return writeRDF(want, q, r.Target.URL(res.Path))
			}
			var conv []byte
			var err error
			if variant != "" {
				conv, err = convert()
			} else {
				conv, err = h.reps.get(etag, convert)
			}
			if err != nil {
				return err
			}
			body, mt = conv, want
		}
		if mt == MediaJSONLD && h.ctxURL != "" {
			body = rdf.Portable(body, h.ctxURL)
		}
	}
	if done, err := checkRead(c, etag); done {
		return err
	}
	c.Header("ETag", etag)
	c.Header("Last-Modified", res.Meta.Modified.Format(http.TimeFormat))
	c.Header("Content-Type", contentTypeHeader(mt))
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(body)
	}
	return nil
}

func repSuffix(mt string) string {
	switch mt {
	case MediaTurtle:
		return "ttl"
	case MediaNTriples:
		return "nt"
	case MediaNQuads:
		return "nq"
	}
	return "jsonld"
}

func contentTypeHeader(mt string) string {
	if strings.HasPrefix(mt, "text/") && !strings.Contains(mt, "charset") {
		return mt + "; charset=utf-8"
	}
	return mt
}

// readBody reads the request body within the size limit.
func (h *Handler) readBody(c *gin.Context) ([]byte, error) {
	return ReadBody(c, h.max)
}

// ReadBody reads c's request body, refusing one larger than max with 413.
func ReadBody(c *gin.Context, max int64) ([]byte, error) {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil, nil
	}
	if c.Request.ContentLength > max {
		return nil, apierr.Newf(http.StatusRequestEntityTooLarge, msgTooLarge, max)
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, apierr.Newf(http.StatusRequestEntityTooLarge, msgTooLarge, max)
	}
	if err != nil {
		return nil, apierr.Wrap(http.StatusBadRequest, msgUnreadable, err)
	}
	return b, nil
}

// readWrite reads and checks the body and media type of a write to p.
func (h *Handler) readWrite(c *gin.Context, r *Request, p string) (mt, stored string, body []byte, err error) {
	body, err = h.readBody(c)
	if err != nil {
		return "", "", nil, err
	}
	ctHeader := c.GetHeader("Content-Type")
	if ctHeader == "" {
		if len(body) > 0 {
			return "", "", nil, apierr.New(http.StatusBadRequest, msgContentType)
		}
		if !IsContainer(p) {
			ctHeader = "application/octet-stream"
		}
	}
	if ctHeader != "" {
		mt, stored, err = ParseContentType(ctHeader)
		if err != nil {
			return "", "", nil, apierr.Newf(http.StatusBadRequest, msgBadContentType, ctHeader)
		}
	}
	if IsACL(p) && !IsRDF(mt) {
		return "", "", nil, apierr.Newf(http.StatusUnsupportedMediaType, msgACLType, strings.Join(readableRDF(), ", "))
	}
	if err := checkJSON(mt, body); err != nil {
		return "", "", nil, err
	}
	switch {
	case IsACL(p):
		q, err := parseRDF(mt, body, r.Target.URL(p))
		if err != nil {
			return "", "", nil, apierr.Wrap(http.StatusBadRequest, fmt.Sprintf(msgInvalidBody, mt, err), err)
		}
		if _, err := acl.ParseACL(q); err != nil {
			return "", "", nil, apierr.Wrap(http.StatusBadRequest, msgInvalidACL+err.Error(), err)
		}
	case IsRDF(mt):
		// Checked as a stream where the format allows: the statements are
		// not kept, so a large body costs little memory here.
		if err := h.reader.Validate(c.Request.Context(), mt, body, r.Target.URL(p)); err != nil {
			return "", "", nil, invalidBody(mt, err)
		}
	}
	if h.hooks.Validate != nil && !IsContainer(p) {
		if err := h.hooks.Validate(c.Request.Context(), r, p, mt, body); err != nil {
			var ae *apierr.Error
			if errors.As(err, &ae) {
				return "", "", nil, err
			}
			return "", "", nil, apierr.Wrap(http.StatusBadRequest, err.Error(), err)
		}
	}
	return mt, stored, body, nil
}

// writeError maps a repository error to an HTTP error.
func writeError(err error) error {
	var ce *ConflictError
	switch {
	case errors.As(err, &ce):
		return apierr.Wrap(http.StatusConflict, ce.Msg, err)
	case errors.Is(err, ErrPrecondition):
		return apierr.Wrap(http.StatusPreconditionFailed, msgPrecondition, err)
	case errors.Is(err, ErrNotEmpty):
		return apierr.Wrap(http.StatusConflict, msgNotEmpty, err)
	case errors.Is(err, ErrNotFound):
		return apierr.Wrap(http.StatusNotFound, apierr.MsgNotFound, err)
	}
	return err
}

// Put creates or replaces a resource. It needs Write on the resource and,
// when it creates it, Append (or Write) on its container and on the
// container of each missing container it creates on the way (see
// authorizeCreate).
//
// A container is created with an empty body, or with an RDF body that
// holds no statements (whitespace and comments alone). A container's
// statements are the server's: a body with containment triples is refused
// as the Solid Protocol asks, and one with other statements too, for a
// container stores none of its own.
func (h *Handler) Put(c *gin.Context, r *Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if IsRoot(p) && c.Request.ContentLength != 0 {
		return errMethod(p)
	}
	if !IsContainer(p) && isContainerLink(c.Request) {
		// The Link asks for a container at a path that names a
		// document: refused, as Community Solid Server does, rather than
		// creating a document the client did not ask for.
		return apierr.Newf(http.StatusBadRequest, msgContainerSlash, r.Target.URL(p))
	}
	if err := h.Authorize(ctx, r, p, acl.Write); err != nil {
		return err
	}
	top, err := h.authorizeCreate(ctx, r, p)
	if err != nil {
		return err
	}
	mt, stored, body, err := h.readWrite(c, r, p)
	if err != nil {
		return err
	}
	if IsContainer(p) && len(body) > 0 {
		if body, err = containerBody(mt, body, r.Target.URL(p)); err != nil {
			return err
		}
	}
	pc := preconditions(c.Request)
	var created bool
	var m Meta
	for try := 0; ; try++ {
		if try > 0 {
			if top, err = h.authorizeCreate(ctx, r, p); err != nil {
				return err
			}
		}
		now := h.repo.Now()
		err = h.repo.st.Update(ctx, func(tx store.Txn) error {
			if err := checkCreates(tx, p, top); err != nil {
				return err
			}
			var err error
			created, m, err = Put(tx, p, stored, body, now, pc)
			return err
		})
		if !errors.Is(err, errCreateRace) {
			break
		}
		if try >= maxCreateRetries {
			return apierr.Wrap(http.StatusConflict, msgCreateRace, err)
		}
	}
	if err != nil {
		return writeError(err)
	}
	h.written(c, r, p, created, m)
	return nil
}

// maxCreateRetries bounds how often a write re-checks its creations after
// the containers above it changed between the check and the write.
const maxCreateRetries = 5

// containerBody returns the body to store for a PUT of a container with
// body of media type mt: nil when it is RDF without statements, else the
// 409 that refuses it.
func containerBody(mt string, body []byte, base string) ([]byte, error) {
	if !IsRDF(mt) {
		return nil, apierr.New(http.StatusConflict, msgContainerNotRDF)
	}
	q, err := parseRDF(mt, body, base)
	if err != nil {
		return nil, apierr.Wrap(http.StatusBadRequest, fmt.Sprintf(msgInvalidBody, mt, err), err)
	}
	for _, s := range q {
		if s.P.Kind == rdf.KindIRI && s.P.Value == ldpNS+"contains" {
			return nil, apierr.New(http.StatusConflict, msgContainment)
		}
	}
	if len(q) > 0 {
		return nil, apierr.New(http.StatusConflict, msgContainerStatements)
	}
	return nil, nil
}

// creations returns what a write of p creates, read in rd: p when it does
// not exist and is not auxiliary (an ACL document belongs to its subject,
// not to a container), then each missing container above it, up to the
// first that exists. Nothing when p exists.
func creations(rd store.Reader, p string) ([]string, error) {
	ok, err := Exists(rd, p)
	if err != nil || ok {
		return nil, err
	}
	var out []string
	x := p
	if IsAuxiliary(p) {
		x = Parent(p)
	}
	for ; x != "" && !IsRoot(x); x = Parent(x) {
		if x != p {
			ok, err := Exists(rd, x)
			if err != nil {
				return nil, err
			}
			if ok {
				break
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// authorizeCreate checks that r may create what a write of p creates (see
// creations): each new resource, p and every missing container above it,
// needs Append or Write on the container it joins, as WAC and the Solid
// Protocol ask. It returns the shallowest path the write creates, "" when
// p exists, for checkCreates to hold the write to.
//
// It runs after the check of the resource's own modes, so a caller whose
// 403 here tells it that p does not exist has Write on p: it learns that
// from 201 against 204 anyway.
func (h *Handler) authorizeCreate(ctx context.Context, r *Request, p string) (string, error) {
	var news []string
	err := h.repo.st.View(ctx, func(rd store.Reader) error {
		var err error
		news, err = creations(rd, p)
		return err
	})
	if err != nil {
		return "", err
	}
	if len(news) == 0 {
		return "", nil
	}
	for i := len(news) - 1; i >= 0; i-- {
		if err := h.Authorize(ctx, r, Parent(news[i]), acl.Append); err != nil {
			return "", err
		}
	}
	return news[len(news)-1], nil
}

// errCreateRace: the containers above a resource changed between the
// check of what its write creates and the write.
var errCreateRace = errors.New("containers changed; retry")

// checkCreates returns errCreateRace when the write of p in tx would create
// more than authorizeCreate allowed (top, "" for nothing): when a container
// above p, or p itself, was deleted since.
func checkCreates(tx store.Txn, p, top string) error {
	news, err := creations(tx, p)
	if err != nil {
		return err
	}
	if len(news) == 0 {
		return nil
	}
	// Both are p or containers above it: the write is covered when what it
	// creates now starts at or below what was checked.
	if top == "" || !strings.HasPrefix(news[len(news)-1], top) {
		return errCreateRace
	}
	return nil
}

// written answers a durable PUT or PATCH of p: 201 with Location for a new
// resource or 204.
func (h *Handler) written(c *gin.Context, r *Request, p string, created bool, m Meta) {
	h.setCommonHeaders(c, r, p)
	c.Header("ETag", m.ETag())
	if created {
		c.Header("Location", r.Target.URL(p))
		c.Status(http.StatusCreated)
		return
	}
	c.Status(http.StatusNoContent)
}

// Post creates a member of a container.
func (h *Handler) Post(c *gin.Context, r *Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if !IsContainer(p) {
		return errMethod(p)
	}
	if err := h.Authorize(ctx, r, p, acl.Append); err != nil {
		return err
	}
	container := isContainerLink(c.Request)
	probe := p + "x"
	if container {
		probe += "/"
	}
	_, stored, body, err := h.readWrite(c, r, probe)
	if err != nil {
		return err
	}
	if container && len(body) > 0 {
		return apierr.New(http.StatusBadRequest, msgContainerBody)
	}
	var np string
	var m Meta
	now := h.repo.Now()
	err = h.repo.st.Update(ctx, func(tx store.Txn) error {
		var err error
		np, m, err = Create(tx, p, c.GetHeader("Slug"), container, stored, body, now)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return apierr.NotFound()
	}
	if err != nil {
		return writeError(err)
	}
	c.Header("Location", r.Target.URL(np))
	c.Header("ETag", m.ETag())
	c.Header("Link", `<`+r.Target.URL(ACLPath(np))+`>; rel="acl"`)
	c.Status(http.StatusCreated)
	return nil
}

// Delete removes a resource. It needs Write on the resource and on its
// container.
func (h *Handler) Delete(c *gin.Context, r *Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if IsRoot(p) || (IsACL(p) && IsRoot(ACLSubject(p))) {
		return errMethod(p)
	}
	if err := h.Authorize(ctx, r, p, acl.Write); err != nil {
		return err
	}
	if !IsACL(p) {
		if err := h.Authorize(ctx, r, Parent(p), acl.Write); err != nil {
			return err
		}
	}
	pc := preconditions(c.Request)
	err := h.repo.st.Update(ctx, func(tx store.Txn) error { return Delete(tx, p, pc) })
	if err != nil {
		return writeError(err)
	}
	c.Status(http.StatusNoContent)
	return nil
}
