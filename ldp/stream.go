package ldp

import (
	"bytes"
	"cmp"
	"encoding/json"
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
	self := r.Target.URL(res.Path)
	lw := newListingWriter(mt, self, res.Path, cmp.Or(h.ctxURL, rdf.ContextURI))
	var buf bytes.Buffer
	urls := make([]string, 0, listBatch)
	// batch reads the members from seq from and writes them to buf; it
	// returns the seq to continue from, 0 at the end.
	batch := func(from uint64) (uint64, error) {
		var members []Member
		var next uint64
		err := h.repo.st.View(ctx, func(rd store.Reader) error {
			var err error
			members, next, err = h.list(rd, res.Path, from, listBatch)
			return err
		})
		if err != nil {
			return 0, err
		}
		urls = urls[:0]
		for _, m := range members {
			urls = append(urls, r.Target.URL(m.Path))
		}
		if err := lw.batch(&buf, urls, from == 0); err != nil {
			return 0, err
		}
		if next == 0 {
			return 0, lw.end(&buf)
		}
		return next, nil
	}
	next, err := batch(0)
	if err != nil {
		return err
	}
	c.Header("Content-Type", contentTypeHeader(mt))
	if next == 0 {
		etag := `"` + strconv.FormatUint(res.Meta.Version, 36) + "-" + strconv.FormatUint(fnv64(buf.Bytes()), 36) + `"`
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
