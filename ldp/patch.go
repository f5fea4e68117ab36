package ldp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/patch"
	"podserver/rdf"
	"podserver/store"
)

// optimisticPatches is how often a PATCH is computed outside the store's
// writer before it falls back to computing inside the write transaction,
// which always succeeds but holds the writer while it runs.
const optimisticPatches = 3

var errRetry = errors.New("resource changed; retry")

// Patch applies an N3 Patch or SPARQL Update to an RDF resource, creating
// it (as Turtle) when it does not exist. Inserts need Append; deletes and
// conditions need Read and Write. Creating the resource needs these modes
// on it and, as for PUT, Append (or Write) on its container and on the
// container of each missing container created with it (authorizeCreate). Concurrent PATCHes of one resource all
// apply: each is computed from the version it read and written only if
// that version is still current, else recomputed.
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
	pc := preconditions(c.Request)
	for try, races := 0, 0; ; try++ {
		top, err := h.authorizeCreate(ctx, r, p)
		if err != nil {
			return err
		}
		created, m, err := h.patchOnce(ctx, r, p, url, pt, pc, top, try >= optimisticPatches)
		if errors.Is(err, errCreateRace) {
			if races++; races > maxCreateRetries {
				return apierr.Wrap(http.StatusConflict, msgCreateRace, err)
			}
			continue
		}
		if errors.Is(err, errRetry) {
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
// version read (errRetry otherwise). In pessimistic mode the whole
// read-apply-write runs inside one store transaction.
// top is what authorizeCreate allowed the write to create: the write fails
// with errCreateRace when it would create more (see checkCreates).
func (h *Handler) patchOnce(ctx context.Context, r *Request, p, url string, pt *patch.Patch, pc Preconditions, top string, pessimistic bool) (bool, Meta, error) {
	if pessimistic {
		var created bool
		var m Meta
		now := h.repo.Now()
		err := h.repo.st.Update(ctx, func(tx store.Txn) error {
			res, err := Get(tx, p)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			mt, body, err := h.applyPatch(ctx, res, p, url, pt)
			if err != nil {
				return err
			}
			if err := h.validatePatched(ctx, r, p, mt, body); err != nil {
				return err
			}
			if err := checkCreates(tx, p, top); err != nil {
				return err
			}
			created, m, err = Put(tx, p, mt, body, now, pc)
			return err
		})
		return created, m, err
	}
	res, err := h.repo.Get(ctx, p)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, Meta{}, err
	}
	var version uint64
	if res != nil {
		version = res.Meta.Version
	}
	mt, body, err := h.applyPatch(ctx, res, p, url, pt)
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
// and returns the media type and body to store.
func (h *Handler) applyPatch(ctx context.Context, res *Resource, p, url string, pt *patch.Patch) (string, []byte, error) {
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
	out, err := pt.Apply(quads)
	if err != nil {
		return "", nil, err
	}
	body, err := writeRDF(mt, out, url)
	if err != nil {
		return "", nil, err
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
		if pe.Kind == patch.Conflict {
			return apierr.Wrap(http.StatusConflict, pe.Error(), err)
		}
		return apierr.Wrap(http.StatusUnprocessableEntity, pe.Error(), err)
	}
	return writeError(err)
}
