package ldp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/patch"
	"podserver/rdf"
	"podserver/store"
)

// patchAttempts is how often a PATCH is computed before it gives up on a
// resource that keeps changing. A patch is always computed outside the
// store's writer, against the version it read, and written only if that
// version is still current: computing it inside the write transaction
// would make every write on the server wait for it.
const patchAttempts = 5

var errRetry = errors.New("resource changed; retry")

// Patch applies an N3 Patch or SPARQL Update to an RDF resource, creating
// it (as Turtle) when it does not exist. Inserts need Append; deletes and
// conditions need Read and Write. Creating the resource needs these modes
// on it and, as for PUT, Append (or Write) on its container and on the
// container of each missing container created with it (authorizeCreate).
// Concurrent PATCHes of one resource all apply: each is computed from the
// version it read, outside the store's writer, and written only if that
// version is still current, else recomputed, at most patchAttempts times
// (then 409 with Retry-After). The PATCHes of one resource on this server
// wait for each other (pathLocks), so only other writes make them race. The patch and its result are held to the
// limits of package patch and of a PUT (the body size limit).
//
// The access decision comes before the body is read: every patch needs at
// least Append (Control for an ACL document), so a caller without it gets
// its 401 or 403 whatever it sent, and learns nothing from a parse error.
// The exact mode the parsed patch needs is checked after parsing.
func (h *Handler) Patch(c *gin.Context, r *Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if IsContainer(p) {
		return errMethod(p)
	}
	if err := h.Authorize(ctx, r, p, acl.Append); err != nil {
		return err
	}
	mt, _, err := ParseContentType(c.GetHeader("Content-Type"))
	if err != nil || (mt != patch.MediaN3 && mt != patch.MediaSPARQLUpdate) {
		return apierr.Newf(http.StatusUnsupportedMediaType, msgPatchTypes, strings.Join(patchTypes(), " or ")).With("Accept-Patch", strings.Join(patchTypes(), ", "))
	}
	body, err := h.readBody(c)
	if err != nil {
		return err
	}
	url := r.Target.URL(p)
	pt, err := patch.Parse(mt, body, url)
	if err != nil {
		return apierr.Wrap(http.StatusUnprocessableEntity, msgInvalidPatch+err.Error(), err)
	}
	var need acl.Mode
	if pt.Inserts() {
		need |= acl.Append
	}
	if pt.Deletes() {
		need |= acl.Read | acl.Write
	}
	if need&^acl.Append != 0 {
		if err := h.Authorize(ctx, r, p, need); err != nil {
			return err
		}
	}
	unlock, err := h.patching.lock(ctx, p)
	if err != nil {
		return writeError(err)
	}
	defer unlock()
	pc := preconditions(c.Request)
	for try, races := 1, 0; ; try++ {
		top, err := h.authorizeCreate(ctx, r, p)
		if err != nil {
			return err
		}
		created, m, err := h.patchOnce(ctx, r, p, url, pt, pc, top)
		if errors.Is(err, errCreateRace) {
			if races++; races > maxCreateRetries {
				return apierr.Wrap(http.StatusConflict, msgCreateRace, err)
			}
			continue
		}
		if errors.Is(err, errRetry) {
			if try >= patchAttempts {
				return apierr.Wrap(http.StatusConflict, fmt.Sprintf(msgPatchRace, patchAttempts), err).With("Retry-After", "1")
			}
			continue
		}
		if err != nil {
			return patchError(err)
		}
		h.written(c, r, p, created, m)
		return nil
	}
}

// patchOnce reads p, applies pt and writes the result if p is still at the
// version read (errRetry otherwise). The patch is computed outside the
// store's write transaction, which only compares the version and writes.
// top is what authorizeCreate allowed the write to create: the write fails
// with errCreateRace when it would create more (see checkCreates).
func (h *Handler) patchOnce(ctx context.Context, r *Request, p, url string, pt *patch.Patch, pc Preconditions, top string) (bool, Meta, error) {
	res, err := h.repo.Get(ctx, p)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, Meta{}, err
	}
	var version uint64
	if res != nil {
		version = res.Meta.Version
	}
	mt, body, err := h.applyPatch(ctx, res, p, url, pt, h.max)
	if err != nil {
		return false, Meta{}, err
	}
	if err := h.validatePatched(ctx, r, p, mt, body); err != nil {
		return false, Meta{}, err
	}
	var created bool
	var m Meta
	now := h.repo.Now()
	err = h.repo.st.Update(ctx, func(tx store.Txn) error {
		cur, err := Get(tx, p)
		switch {
		case errors.Is(err, ErrNotFound):
			if res != nil {
				return errRetry
			}
		case err != nil:
			return err
		case res == nil || cur.Meta.Version != version:
			return errRetry
		}
		if err := checkCreates(tx, p, top); err != nil {
			return err
		}
		created, m, err = Put(tx, p, mt, body, now, pc)
		return err
	})
	return created, m, err
}

// validatePatched runs Hooks.Validate on the document a patch produced, as
// a PUT of it would: a patch cannot store what a PUT may not (for example
// settings/subscriptions that publishing could not read). A refusal is a
// 409, as for a patched ACL document that is not valid.
func (h *Handler) validatePatched(ctx context.Context, r *Request, p, mt string, body []byte) error {
	if h.hooks.Validate == nil {
		return nil
	}
	if err := h.hooks.Validate(ctx, r, p, mt, body); err != nil {
		msg := err.Error()
		var ae *apierr.Error
		if errors.As(err, &ae) {
			msg = ae.Msg
		}
		return apierr.Wrap(http.StatusConflict, msgPatchedInvalid+msg, err)
	}
	return nil
}

// applyPatch applies pt to res (nil: a new resource, written as Turtle)
// and returns the media type and body to store, which may be at most max
// bytes, as the body of a PUT.
func (h *Handler) applyPatch(ctx context.Context, res *Resource, p, url string, pt *patch.Patch, max int64) (string, []byte, error) {
	mt := MediaTurtle
	var quads []rdf.Quad
	if res != nil {
		mt = res.Meta.ContentType
		if !IsRDF(mt) {
			return "", nil, apierr.Newf(http.StatusUnsupportedMediaType, msgPatchNotRDF, mt)
		}
		var err error
		if quads, err = h.parseStored(ctx, mt, res.Body, url, ""); err != nil {
			return "", nil, err
		}
	}
	out, err := pt.ApplyContext(ctx, quads, int(max))
	if err != nil {
		return "", nil, err
	}
	body, err := writeRDF(mt, out, url)
	if err != nil {
		return "", nil, err
	}
	if int64(len(body)) > max {
		return "", nil, apierr.Newf(http.StatusRequestEntityTooLarge, msgPatchedTooLarge, len(body), max)
	}
	if IsACL(p) {
		if _, err := acl.ParseACL(out); err != nil {
			return "", nil, apierr.Wrap(http.StatusConflict, msgPatchedACL+err.Error(), err)
		}
	}
	return mt, body, nil
}

// patchError maps patch and repository errors to HTTP errors.
func patchError(err error) error {
	var pe *patch.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case patch.Conflict:
			return apierr.Wrap(http.StatusConflict, pe.Error(), err)
		case patch.TooLarge:
			return apierr.Wrap(http.StatusRequestEntityTooLarge, pe.Error(), err)
		}
		return apierr.Wrap(http.StatusUnprocessableEntity, pe.Error(), err)
	}
	return writeError(err)
}

// pathLocks is a mutex per path, held while a path is in use and dropped
// when no one holds or waits for it.
type pathLocks struct {
	mu sync.Mutex
	m  map[string]*pathLock
}

type pathLock struct {
	ch    chan struct{} // holds a token while locked
	users int           // holders and waiters
}

// lock waits until p is free or ctx is done, and returns the function that
// frees it.
func (l *pathLocks) lock(ctx context.Context, p string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*pathLock{}
	}
	e := l.m[p]
	if e == nil {
		e = &pathLock{ch: make(chan struct{}, 1)}
		l.m[p] = e
	}
	e.users++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.users--; e.users == 0 {
			delete(l.m, p)
		}
		l.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
