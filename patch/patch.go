// Package patch parses N3 Patch and SPARQL Update documents and applies them to RDF graphs.
//
// Two formats are understood, as the Solid Protocol asks of a pod server:
//
//   - N3 Patch (text/n3): one resource of type solid:InsertDeletePatch
//     with optional solid:where, solid:inserts and solid:deletes formulae.
//     The where formula must match the resource exactly once and every
//     triple to delete must be present, else the patch is a Conflict.
//   - SPARQL 1.1 Update (application/sparql-update), restricted to INSERT
//     DATA, DELETE DATA, DELETE/INSERT ... WHERE and DELETE WHERE over basic
//     graph patterns. It keeps SPARQL's semantics: WHERE may have any number
//     of solutions (each is applied) and deleting an absent triple does
//     nothing.
//
// DELETE DATA of an absent triple is deliberately a no-op, as SPARQL 1.1
// Update says (and as the Community Solid Server does); the rule that every
// deleted triple must be present is N3 Patch's alone. Likewise a SPARQL
// template triple with an unbound variable, or one that instantiates to a
// literal subject, is left out, while in an N3 Patch it is a Conflict.
//
// A Patch is parsed once and applied to a graph as a pure function: the
// input is never modified and the result is a set of quads. Patches touch
// the default graph only; quads in named graphs pass through unchanged.
// Blank nodes a patch inserts get labels unused in the graph. Applying a
// patch is bounded as a whole, all its operations together: the search
// steps and solutions of its WHERE clauses, the templates instantiated,
// and the result, which may hold at most rdf.MaxStatements statements and
// gain at most a request body's size in terms. A patch too costly to
// evaluate is Malformed; one whose result would be too large is TooLarge,
// found out as the result grows and not after.
//
// This package depends on podserver/rdf only and must not import any other
// podserver package.
package patch

import (
	"context"
	"fmt"
	"mime"
	"unicode/utf8"

	"podserver/rdf"
)

// Media types of the patch formats.
const (
	MediaN3           = "text/n3"
	MediaSPARQLUpdate = "application/sparql-update"
)

// Patch is a parsed patch document, ready to be applied to any number of
// graphs. It is immutable and safe for concurrent use.
type Patch struct {
	ops []*operation
}

// operation is one update. An N3 Patch is one strict operation; a SPARQL
// Update is a sequence of them (INSERT DATA and DELETE DATA are operations
// with an empty WHERE clause, which has exactly one, empty, solution).
type operation struct {
	where, delete, insert []pattern

	nvars   int   // variables bound by where, including blank nodes of where
	project []int // indices of the named variables among them
	strict  bool  // N3 Patch: where matches once, deletes must be present

	whereLine, whereCol int
}

// Parse parses a patch document of the given media type (parameters such as
// charset are ignored). Relative IRIs resolve against base, normally the URL
// of the resource to patch. A malformed document gives an *Error of kind
// Malformed; an unknown media type gives an error wrapping ErrUnsupported.
func Parse(mediaType string, body []byte, base string) (*Patch, error) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil || (mt != MediaN3 && mt != MediaSPARQLUpdate) {
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, mediaType)
	}
	if !utf8.Valid(body) {
		lx := newLexer(string(body), false)
		i := 0
		for utf8.FullRune(body[i:]) {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, lx.errAt(i, msgBadUTF8)
	}
	if mt == MediaN3 {
		op, err := parseN3(string(body), base)
		if err != nil {
			return nil, err
		}
		return &Patch{ops: []*operation{op}}, nil
	}
	ops, err := parseSPARQL(string(body), base)
	if err != nil {
		return nil, err
	}
	return &Patch{ops: ops}, nil
}

// Inserts reports whether the patch has anything to insert.
func (p *Patch) Inserts() bool {
	for _, op := range p.ops {
		if len(op.insert) > 0 {
			return true
		}
	}
	return false
}

// Deletes reports whether the patch has anything to delete or a non-empty
// WHERE clause, either of which reveals or changes existing data: per Solid,
// such a patch needs Read and Write access, not only Append.
func (p *Patch) Deletes() bool {
	for _, op := range p.ops {
		if len(op.delete) > 0 || len(op.where) > 0 {
			return true
		}
	}
	return false
}

// DefaultMaxBytes is the growth in bytes of terms Apply allows a result,
// the default request body limit of a pod server.
const DefaultMaxBytes = 10 << 20

// Apply is ApplyContext without a deadline and with DefaultMaxBytes.
func (p *Patch) Apply(graph []rdf.Quad) ([]rdf.Quad, error) {
	return p.ApplyContext(context.Background(), graph, DefaultMaxBytes)
}

// ApplyContext applies the patch to graph and returns the new graph. Only
// the default graph changes; quads of named graphs are kept as they are.
// The result holds no duplicate quads and graph itself is never modified.
// A patch that cannot apply to this graph gives an *Error of kind
// Conflict; one past the limits of evaluation one of kind Malformed, and
// one whose result would be past its limits (rdf.MaxStatements statements,
// maxBytes more bytes of terms than graph) one of kind TooLarge. It stops with ctx's error when ctx
// is done.
func (p *Patch) ApplyContext(ctx context.Context, graph []rdf.Quad, maxBytes int) ([]rdf.Quad, error) {
	return p.apply(ctx, graph, defaultLimits(maxBytes))
}

// apply is ApplyContext within the given limits.
func (p *Patch) apply(ctx context.Context, graph []rdf.Quad, lim limits) ([]rdf.Quad, error) {
	s := newState(ctx, graph, lim)
	for _, op := range p.ops {
		if err := s.apply(op); err != nil {
			return nil, err
		}
	}
	return s.result(), nil
}
