package ldp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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

// streamContainer answers a GET of container res without paging
// parameters: its representation in mt, listing every member. Solid
// clients do not follow Link rel="next", so nothing is left out.
//
// The members are read listBatch at a time, each batch in a store View of
// its own, and written out before the next is read: memory stays constant
// and a slow reader holds no snapshot (nor a PostgreSQL connection) for
// the length of the transfer. Members are read in creation order from a
// cursor, so every member that exists for the whole response is listed
// exactly once; one created or deleted while it is written may or may not
// be. The body is sent chunked, without Content-Length, and without an
// ETag: the container's record version does not change when members come
// and go, and a hash of the listing would need a whole pass over the store
// before the first byte (paged listings, which are built in memory, keep
// their hashed ETag). So only "*" can match a conditional read: If-None-
// Match: * answers 304 and any other If-Match list 412, as RFC 9110 has it
// for a representation without an entity tag.
//
// An error after the first byte cannot become an error status: it is
// logged and the response aborted (http.ErrAbortHandler), so the client
// sees a broken transfer, never a listing that looks complete.
func (h *Handler) streamContainer(c *gin.Context, r *Request, res *Resource, mt string) error {
	pc := preconditions(c.Request)
	if pc.IfMatch != "" && !hasStar(pc.IfMatch) {
		return apierr.New(http.StatusPreconditionFailed, msgIfMatch)
	}
	if pc.IfNoneMatch != "" && hasStar(pc.IfNoneMatch) {
		c.Status(http.StatusNotModified)
		return nil
	}
	c.Header("Content-Type", contentTypeHeader(mt))
	if c.Request.Method == http.MethodHead {
		c.Status(http.StatusOK)
		return nil
	}
	ctx := c.Request.Context()
	self := r.Target.URL(res.Path)
	lw := newListingWriter(mt, self, res.Path)
	var buf bytes.Buffer
	if err := lw.begin(&buf); err != nil {
		return err
	}
	urls := make([]string, 0, listBatch)
	started := false
	for from, more := uint64(0), true; more; {
		var members []Member
		var next uint64
		err := h.repo.st.View(ctx, func(rd store.Reader) error {
			var err error
			members, next, err = h.list(rd, res.Path, from, listBatch)
			return err
		})
		if err == nil {
			urls = urls[:0]
			for _, m := range members {
				urls = append(urls, r.Target.URL(m.Path))
			}
			err = lw.members(&buf, urls)
		}
		if more = next != 0; !more && err == nil {
			err = lw.end(&buf)
		}
		if err != nil {
			if !started {
				return err
			}
			if ctx.Err() == nil {
				h.log.ErrorContext(ctx, "container listing cut off", "path", res.Path, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
		if !started {
			c.Status(http.StatusOK)
			started = true
		}
		if _, err := c.Writer.Write(buf.Bytes()); err != nil {
			return nil // the client has gone
		}
		buf.Reset()
		from = next
	}
	return nil
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

// listingWriter writes a container listing in parts: begin, the members
// batch by batch, end. Each part is a whole unit of its syntax, so the
// parts go out as they are made.
type listingWriter interface {
	begin(b *bytes.Buffer) error
	members(b *bytes.Buffer, urls []string) error
	end(b *bytes.Buffer) error
}

func newListingWriter(mt, self, p string) listingWriter {
	if mt == MediaJSONLD {
		return &jsonListing{self: self, p: p}
	}
	return &rdfListing{mt: mt, self: self, p: p}
}

// rdfListing writes Turtle, N-Triples or N-Quads with the rdf package's
// writers, one batch at a time. Each Turtle batch repeats its @base and
// @prefix lines, which Turtle allows, so that a batch stands alone.
type rdfListing struct {
	mt, self, p string
	quads       []rdf.Quad
}

func (l *rdfListing) begin(b *bytes.Buffer) error {
	return rdf.Write(b, l.mt, containerQuads(containerJSON{ID: l.self}, l.p), l.self)
}

func (l *rdfListing) members(b *bytes.Buffer, urls []string) error {
	if len(urls) == 0 {
		return nil
	}
	s, contains := rdf.IRI(l.self), rdf.IRI(ldpNS+"contains")
	l.quads = l.quads[:0]
	for _, u := range urls {
		l.quads = append(l.quads, rdf.Quad{S: s, P: contains, O: rdf.IRI(u)})
	}
	if l.mt != MediaTurtle {
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
	self, p string
	n       int
}

func (l *jsonListing) begin(b *bytes.Buffer) error {
	head, err := json.Marshal(containerJSON{Context: rdf.ContextURI, ID: l.self, Type: containerTypes(l.p), Contains: []string{}})
	if err != nil {
		return err
	}
	open, ok := bytes.CutSuffix(head, []byte("]}"))
	if !ok {
		return fmt.Errorf("ldp: container JSON-LD %s does not end with its contains array", head)
	}
	b.Write(open)
	return nil
}

func (l *jsonListing) members(b *bytes.Buffer, urls []string) error {
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
