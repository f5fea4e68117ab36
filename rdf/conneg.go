package rdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Media types of the RDF formats this package reads and writes.
const (
	MediaTypeTurtle   = "text/turtle"
	MediaTypeJSONLD   = "application/ld+json"
	MediaTypeNTriples = "application/n-triples"
	MediaTypeNQuads   = "application/n-quads"
	// MediaTypeJSON is read as JSON-LD (with podserver's context when the
	// document has none); it is never written.
	MediaTypeJSON = "application/json"
)

// MediaTypes lists the media types Write can produce, JSON-LD first: the
// offers for content negotiation of an RDF resource.
func MediaTypes() []string {
	return []string{MediaTypeJSONLD, MediaTypeTurtle, MediaTypeNQuads, MediaTypeNTriples}
}

// ErrUnsupportedMediaType is returned (wrapped) by Parse and Write for a
// media type they do not handle; the HTTP layer answers 415 (or 406).
var ErrUnsupportedMediaType = errors.New("unsupported media type")

// ErrNamedGraphs is returned (wrapped) by Write when quads in named graphs
// are to be written in a format that has no graphs (Turtle, N-Triples).
var ErrNamedGraphs = errors.New("the format cannot hold named graphs")

// baseMediaType returns the lower-cased type/subtype of a media type,
// without parameters.
func baseMediaType(mt string) string {
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// Parse reads data in the given media type (parameters such as charset
// are ignored): Turtle, JSON-LD (also application/json), N-Triples or
// N-Quads. Relative IRIs resolve against base (N-Triples and N-Quads have
// none). JSON-LD may name the built-in contexts only (a Reader loads
// others).
func Parse(mediaType string, data []byte, base string) ([]Quad, error) {
	return (*Reader)(nil).Parse(context.Background(), mediaType, data, base)
}

// Parse is Parse that loads remote JSON-LD contexts through r, with ctx.
func (r *Reader) Parse(ctx context.Context, mediaType string, data []byte, base string) ([]Quad, error) {
	switch baseMediaType(mediaType) {
	case MediaTypeTurtle, "application/x-turtle":
		triples, err := ParseTurtle(data, base)
		return triplesToQuads(triples), err
	case MediaTypeJSONLD, MediaTypeJSON:
		return r.ParseJSONLD(ctx, data, base)
	case MediaTypeNTriples:
		triples, err := ParseNTriples(data)
		return triplesToQuads(triples), err
	case MediaTypeNQuads:
		return ParseNQuads(data)
	}
	return nil, fmt.Errorf("rdf: cannot read %q: %w", mediaType, ErrUnsupportedMediaType)
}

// Validate checks that data is a valid document of the given media type
// within the readers' limits (nesting, MaxStatements), as Parse would,
// without keeping its statements: Turtle, N-Triples and N-Quads are read
// as a stream, so checking a large document costs little memory. JSON-LD
// is converted whole, as json-gold requires, and may name the built-in
// contexts only (a Reader loads others).
func Validate(mediaType string, data []byte, base string) error {
	return (*Reader)(nil).Validate(context.Background(), mediaType, data, base)
}

// Validate is Validate that loads remote JSON-LD contexts through r, with
// ctx.
func (r *Reader) Validate(ctx context.Context, mediaType string, data []byte, base string) error {
	var next func() error
	switch baseMediaType(mediaType) {
	case MediaTypeTurtle, "application/x-turtle":
		t := newTurtleReader(base)
		t.s = newBytesScanner(data)
		next = func() error { _, err := t.Next(); return err }
	case MediaTypeNTriples, MediaTypeNQuads:
		r := &NQuadsReader{s: newBytesScanner(data), graphs: baseMediaType(mediaType) == MediaTypeNQuads, iris: map[string]string{}}
		next = func() error { _, err := r.Next(); return err }
	default:
		_, err := r.Parse(ctx, mediaType, data, base)
		return err
	}
	for n := 0; ; n++ {
		err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n == MaxStatements {
			return tooMany()
		}
	}
}

// Write writes quads in the given media type: Turtle (with default prefixes
// and base), JSON-LD, N-Triples or N-Quads.
func Write(w io.Writer, mediaType string, quads []Quad, base string) error {
	mt := baseMediaType(mediaType)
	switch mt {
	case MediaTypeTurtle, MediaTypeNTriples:
		triples := make([]Triple, len(quads))
		for i, q := range quads {
			if !q.G.IsZero() {
				return fmt.Errorf("rdf: writing %s: %w (use %s)", mt, ErrNamedGraphs, MediaTypeNQuads)
			}
			triples[i] = q.Triple()
		}
		if mt == MediaTypeNTriples {
			return WriteNTriples(w, triples)
		}
		return WriteTurtle(w, triples, &TurtleOptions{Base: base})
	case MediaTypeJSONLD:
		return WriteJSONLD(w, quads, base)
	case MediaTypeNQuads:
		return WriteNQuads(w, quads)
	}
	return fmt.Errorf("rdf: cannot write %q: %w", mediaType, ErrUnsupportedMediaType)
}

// triplesToQuads puts triples in the default graph.
func triplesToQuads(triples []Triple) []Quad {
	if triples == nil {
		return nil
	}
	quads := make([]Quad, len(triples))
	for i, t := range triples {
		quads[i] = Quad{S: t.S, P: t.P, O: t.O}
	}
	return quads
}

// acceptRange is one media range of an Accept header.
type acceptRange struct {
	typ, sub string
	q        float64
}

// parseAccept parses an Accept header; ranges that cannot be parsed are
// left out. Media type parameters other than q are ignored.
func parseAccept(accept string) []acceptRange {
	var out []acceptRange
	for part := range strings.SplitSeq(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		if mt == "" {
			continue
		}
		if mt == "*" {
			mt = "*/*"
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			continue
		}
		r := acceptRange{typ: typ, sub: sub, q: 1}
		for _, param := range fields[1:] {
			k, v, _ := strings.Cut(param, "=")
			if strings.ToLower(strings.TrimSpace(k)) != "q" {
				continue
			}
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				ok = false
			}
			r.q = q
			break // parameters after q are accept-extensions
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// Negotiate picks the offer the Accept header prefers. Each offer takes the
// q-value of the most specific range that matches it (type/subtype, then
// type/*, then */*); the highest q wins, then the more specific match, then
// the earlier offer. An empty header accepts the first offer. It reports
// false when no offer is acceptable (q=0 or unmatched): answer 406.
func Negotiate(accept string, offers []string) (string, bool) {
	if len(offers) == 0 {
		return "", false
	}
	if strings.TrimSpace(accept) == "" {
		return offers[0], true
	}
	ranges := parseAccept(accept)
	best, bestQ, bestSpec := -1, 0.0, -1
	for i, offer := range offers {
		typ, sub, _ := strings.Cut(baseMediaType(offer), "/")
		q, spec := 0.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*":
				s = 0
			}
			if s > spec || (s == spec && r.q > q) {
				q, spec = r.q, s
			}
		}
		if spec < 0 || q <= 0 {
			continue
		}
		if best < 0 || q > bestQ || (q == bestQ && spec > bestSpec) {
			best, bestQ, bestSpec = i, q, spec
		}
	}
	if best < 0 {
		return "", false
	}
	return offers[best], true
}
