package ldp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"podserver/apierr"
	"podserver/jsoncheck"
	"podserver/patch"
	"podserver/rdf"
)

// parseRDF reads body of media type mt into quads, relative IRIs resolved
// against base.
func parseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	return rdf.Parse(mt, body, base)
}

// writeRDF serializes quads in media type mt.
func writeRDF(mt string, quads []rdf.Quad, base string) ([]byte, error) {
	var buf bytes.Buffer
	err := rdf.Write(&buf, mt, quads, base)
	return buf.Bytes(), err
}

// readableRDF lists the RDF media types a write may use.
func readableRDF() []string { return rdfTypes }

// patchTypes lists the PATCH media types the server accepts.
func patchTypes() []string { return []string{patch.MediaN3, patch.MediaSPARQLUpdate} }

// ParseRDF reads a stored RDF body of media type mt into quads, relative
// IRIs resolved against base.
func ParseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	return parseRDF(mt, body, base)
}

// parseStored reads a stored RDF body of media type mt for conversion to
// want ("" for a PATCH), loading remote JSON-LD contexts through h.reader,
// turning a failure into a 406 (a 409 for a PATCH) naming the cause,
// instead of a 500.
func (h *Handler) parseStored(ctx context.Context, mt string, body []byte, base, want string) ([]rdf.Quad, error) {
	q, err := h.reader.Parse(ctx, mt, body, base)
	if err == nil {
		return q, nil
	}
	if want == "" {
		return nil, apierr.Wrap(http.StatusConflict, fmt.Sprintf(msgStoredUnpatchable, mt, err), err)
	}
	return nil, apierr.Wrap(http.StatusNotAcceptable, fmt.Sprintf(msgStoredUnreadable, want, mt, err, mt), err)
}

// invalidBody is the answer to a body of media type mt that err refused:
// 400, or the 503 of ContextUnavailable.
func invalidBody(mt string, err error) error {
	if e := ContextUnavailable(err); e != nil {
		return e
	}
	return apierr.Wrap(http.StatusBadRequest, fmt.Sprintf(msgInvalidBody, mt, err), err)
}

// ContextUnavailable returns the 503 (with Retry-After) for an error of
// reading RDF that is a remote JSON-LD context the server did not fetch
// for its own limits (rdf.ContextError.Temporary), nil for any other:
// the body may well be right.
func ContextUnavailable(err error) error {
	var ce *rdf.ContextError
	if !errors.As(err, &ce) || !ce.Temporary {
		return nil
	}
	return apierr.Wrap(http.StatusServiceUnavailable, msgContextBusy+ce.Error(), err).With("Retry-After", "1")
}

// checkJSON refuses a plain JSON body (application/json, stored as sent:
// settings documents among others) that is not UTF-8 or nests too deeply,
// as JSON-LD bodies are when they are parsed.
func checkJSON(mt string, body []byte) error {
	if mt != MediaJSON {
		return nil
	}
	if err := jsoncheck.Check(body); err != nil {
		return apierr.Wrap(http.StatusBadRequest, fmt.Sprintf(msgInvalidBody, mt, err), err)
	}
	return nil
}
