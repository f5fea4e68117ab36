package ldp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/rdf"
	"podserver/store"
)

// listBatch is how many members a streamed listing reads from the store at
// a time: the most it holds in memory, whatever the container's size.
const listBatch = 1000

const ldpNS = "http://www.w3.org/ns/ldp#"

// streamContainer answers a GET or HEAD of container res without paging
// parameters: its representation in mt, listing every member. Solid
// clients do not follow Link rel="next", so nothing is left out.
//
// The members are read listBatch at a time, each batch in a store View of
// its own, and written out before the next is read: memory stays constant
// and a slow reader holds no snapshot (nor a PostgreSQL connection) for
// the length of the transfer. Members are read in creation order from a
// cursor, so every member that exists for the whole response is listed
// exactly once; one created or deleted while it is written may or may not
// be.
//
// A listing that fits in one batch is answered as before, whole, with
// Content-Length and an ETag that hashes it (the container's record
// version does not change when members come and go). A longer one is sent
// chunked, without Content-Length and without an ETag: a hash would need a
// whole pass over the store before the first byte. So for it only "*" can
// match a conditional read: If-None-Match: * answers 304 and any other
// If-Match list 412, as RFC 9110 has it for a representation without an
// entity tag. HEAD reads the first batch to tell the two apart.
//
// An error after the first byte cannot become an error status: it is
// logged and the response aborted (http.ErrAbortHandler), so the client
// sees a broken transfer, never a listing that looks complete.
func (h *Handler) streamContainer(c *gin.Context, r *Request, res *Resource, mt string) error {
	ctx := c.Request.Context()
	l := h.newListing(r.Target, res.Path, mt)
	var buf bytes.Buffer
	batch := func(from uint64) (uint64, error) { return l.batch(ctx, &buf, from) }
	next, err := batch(0)
	if err != nil {
		return err
	}
	c.Header("Content-Type", contentTypeHeader(mt))
	if next == 0 {
		etag := listingETag(res.Meta.Version, buf.Bytes())
		if done, err := checkRead(c, etag); done {
			return err
		}
		c.Header("ETag", etag)
		c.Header("Content-Length", strconv.Itoa(buf.Len()))
		c.Status(http.StatusOK)
		if c.Request.Method != http.MethodHead {
			_, _ = c.Writer.Write(buf.Bytes())
		}
		return nil
	}
	pc := preconditions(c.Request)
	if pc.IfMatch != "" && !hasStar(pc.IfMatch) {
		return apierr.New(http.StatusPreconditionFailed, msgIfMatch)
	}
	if pc.IfNoneMatch != "" && hasStar(pc.IfNoneMatch) {
		c.Status(http.StatusNotModified)
		return nil
	}
	c.Status(http.StatusOK)
	if c.Request.Method == http.MethodHead {
		return nil
	}
	for {
		if _, err := c.Writer.Write(buf.Bytes()); err != nil {
			return nil // the client has gone
		}
		buf.Reset()
		if next == 0 {
			return nil
		}
		if next, err = batch(next); err != nil {
			if ctx.Err() == nil {
				h.log.ErrorContext(ctx, "container listing cut off", "path", res.Path, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// hasStar reports whether an If-Match / If-None-Match header is "*".
func hasStar(header string) bool {
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" {
			return true
		}
	}
	return false
}

// listingWriter writes a container listing in parts: the members batch
// by batch (the first with the container's own statements), then the end.
// Each part is a whole unit of its syntax, so the parts go out as they are
// made.
type listingWriter interface {
	batch(b *bytes.Buffer, urls []string, first bool) error
	end(b *bytes.Buffer) error
}

// newListingWriter returns the writer of a listing in mt; ctx is the
// context a JSON-LD listing names.
// listing reads a container's members a batch at a time and writes them
// in one media type (streamContainer).
type listing struct {
	h    *Handler
	t    Target
	p    string
	lw   listingWriter
	urls []string
}

func (h *Handler) newListing(t Target, p, mt string) *listing {
	lw := newListingWriter(mt, t.URL(p), p, cmp.Or(h.ctxURL, rdf.ContextURI))
	return &listing{h: h, t: t, p: p, lw: lw, urls: make([]string, 0, listBatch)}
}

// batch reads the members from seq from and writes them to buf; it
// returns the seq to continue from, 0 at the end.
func (l *listing) batch(ctx context.Context, buf *bytes.Buffer, from uint64) (uint64, error) {
	var members []Member
	var next uint64
	err := l.h.repo.st.View(ctx, func(rd store.Reader) error {
		var err error
		members, next, err = l.h.list(rd, l.p, from, listBatch)
		return err
	})
	if err != nil {
		return 0, err
	}
	l.urls = l.urls[:0]
	for _, m := range members {
		l.urls = append(l.urls, l.t.URL(m.Path))
	}
	if err := l.lw.batch(buf, l.urls, from == 0); err != nil {
		return 0, err
	}
	if next == 0 {
		return 0, l.lw.end(buf)
	}
	return next, nil
}

// listingETag is the ETag of a container representation: its record
// version does not change when members come and go, so it hashes the
// representation too.
func listingETag(version uint64, body []byte) string {
	return `"` + strconv.FormatUint(version, 36) + "-" + strconv.FormatUint(fnv64(body), 36) + `"`
}

// ListingETag returns the ETag a GET of container p, a storage path of
// t's pod, answers in JSON-LD (the default representation): what a
// notification about the container gives as its state. ok is false when p
// does not exist or is no container, or when its listing is longer than
// one batch and so is sent without an ETag.
func (h *Handler) ListingETag(ctx context.Context, t Target, p string) (etag string, ok bool, err error) {
	if !IsContainer(p) {
		return "", false, nil
	}
	res, err := h.repo.Get(ctx, p)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	var buf bytes.Buffer
	next, err := h.newListing(t, p, MediaJSONLD).batch(ctx, &buf, 0)
	if err != nil || next != 0 {
		return "", false, err
	}
	return listingETag(res.Meta.Version, buf.Bytes()), true, nil
}

func newListingWriter(mt, self, p, ctx string) listingWriter {
	if mt == MediaJSONLD {
		return &jsonListing{self: self, p: p, ctx: ctx}
	}
	return &rdfListing{mt: mt, self: self, p: p}
}

// rdfListing writes Turtle, N-Triples or N-Quads with the rdf package's
// writers, one batch at a time. Each Turtle batch after the first repeats
// its @base and @prefix lines, which Turtle allows, so that a batch stands
// alone; a listing of one batch reads as it did when it was written whole.
type rdfListing struct {
	mt, self, p string
	quads       []rdf.Quad
}

func (l *rdfListing) batch(b *bytes.Buffer, urls []string, first bool) error {
	l.quads = l.quads[:0]
	if first {
		l.quads = containerQuads(containerJSON{ID: l.self}, l.p)
	} else if len(urls) == 0 {
		return nil
	}
	s, contains := rdf.IRI(l.self), rdf.IRI(ldpNS+"contains")
	for _, u := range urls {
		l.quads = append(l.quads, rdf.Quad{S: s, P: contains, O: rdf.IRI(u)})
	}
	if first || l.mt != MediaTurtle {
		return rdf.Write(b, l.mt, l.quads, l.self)
	}
	triples := make([]rdf.Triple, len(l.quads))
	for i, q := range l.quads {
		triples[i] = q.Triple()
	}
	b.WriteByte('\n')
	return rdf.WriteTurtle(b, triples, &rdf.TurtleOptions{Base: l.self, Prefixes: map[string]string{"ldp": ldpNS}})
}

func (l *rdfListing) end(*bytes.Buffer) error { return nil }

// jsonListing writes the JSON-LD listing of the paged form, without next,
// its contains array written a batch at a time.
type jsonListing struct {
	self, p, ctx string
	n            int
}

func (l *jsonListing) batch(b *bytes.Buffer, urls []string, first bool) error {
	if first {
		head, err := json.Marshal(containerJSON{Context: l.ctx, ID: l.self, Type: containerTypes(l.p), Contains: []string{}})
		if err != nil {
			return err
		}
		open, ok := bytes.CutSuffix(head, []byte("]}"))
		if !ok {
			return fmt.Errorf("ldp: container JSON-LD %s does not end with its contains array", head)
		}
		b.Write(open)
	}
	for _, u := range urls {
		if l.n > 0 {
			b.WriteByte(',')
		}
		l.n++
		s, err := json.Marshal(u)
		if err != nil {
			return err
		}
		b.Write(s)
	}
	return nil
}

func (l *jsonListing) end(b *bytes.Buffer) error {
	b.WriteString("]}")
	return nil
}
