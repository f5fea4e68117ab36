package rdf

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// TurtleOptions controls WriteTurtle.
type TurtleOptions struct {
	// Prefixes maps prefix names to namespaces; nil means DefaultPrefixes.
	// Only the prefixes that the output uses are declared.
	Prefixes map[string]string
	// Base, when set, is declared with @base, and IRIs of the same document
	// or directory are written relative to it.
	Base string
}

// DefaultPrefixes returns the prefixes WriteTurtle uses when given none:
// the vocabularies of podserver's context.
func DefaultPrefixes() map[string]string {
	return map[string]string{
		"acl":     "http://www.w3.org/ns/auth/acl#",
		"as":      "https://www.w3.org/ns/activitystreams#",
		"dcterms": "http://purl.org/dc/terms/",
		"foaf":    "http://xmlns.com/foaf/0.1/",
		"ldp":     "http://www.w3.org/ns/ldp#",
		"pim":     "http://www.w3.org/ns/pim/space#",
		"pod":     PodVocab,
		"rdf":     "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
		"rdfs":    "http://www.w3.org/2000/01/rdf-schema#",
		"schema":  "https://schema.org/",
		"sec":     "https://w3id.org/security#",
		"solid":   "http://www.w3.org/ns/solid/terms#",
		"vcard":   "http://www.w3.org/2006/vcard/ns#",
		"xsd":     "http://www.w3.org/2001/XMLSchema#",
	}
}

// WriteTurtle writes triples as Turtle. The output is deterministic for a
// set of triples (duplicates are dropped): subjects in order, IRIs before
// blank nodes; rdf:type first, as "a"; then predicates and objects in order,
// grouped with ';' and ','. A blank node used once as an object is written
// in place as [ ... ] and a well-formed list as ( ... ), at most
// maxWriteNesting levels deep; other blank nodes, and those past that depth
// (written as statements of their own), get labels _:b0, _:b1, ... So any
// graph can be written, without recursing with its depth, and the output
// reads back within MaxDepth. Numbers and booleans use the short forms
// where that gives back the same literal.
func WriteTurtle(w io.Writer, triples []Triple, opts *TurtleOptions) error {
	if opts == nil {
		opts = &TurtleOptions{}
	}
	prefixes := opts.Prefixes
	if prefixes == nil {
		prefixes = DefaultPrefixes()
	}
	tw, err := newTurtleWriter(w, triples, prefixes, opts.Base)
	if err != nil {
		return err
	}
	tw.header(opts.Base)
	tw.body()
	return tw.flush()
}

type prefixNS struct{ name, ns string }

type turtleWriter struct {
	w        io.Writer
	buf      []byte
	err      error
	src      []Triple         // the caller's triples, read only
	order    []Term           // subjects in order
	subjects map[Term][]int32 // indexes into src, by predicate and object, no duplicates
	refs     map[Term]int     // blank node -> uses as an object
	done     map[Term]bool    // blank node -> written (or being written)
	labels   map[Term]string
	nest     int        // open [ ] and ( ) at the current position
	prefixes []prefixNS // longest namespace first
	used     map[string]string
	base     string
	names    map[string]string // IRI -> how it is written
}

func newTurtleWriter(w io.Writer, triples []Triple, prefixes map[string]string, base string) (*turtleWriter, error) {
	tw := &turtleWriter{
		w:        w,
		buf:      make([]byte, 0, writeChunk+4096),
		src:      triples,
		subjects: map[Term][]int32{},
		refs:     map[Term]int{},
		done:     map[Term]bool{},
		labels:   map[Term]string{},
		used:     map[string]string{},
		base:     base,
		names:    map[string]string{},
	}
	// Group by subject (as indexes into triples, in one array), then sort
	// the subjects and each group: much cheaper than sorting all triples.
	group := map[Term]int{}
	var counts []int
	for _, t := range triples {
		if t.S.Kind != KindIRI && t.S.Kind != KindBlank {
			return nil, fmt.Errorf("rdf: Turtle cannot write a triple whose subject is %s", describeKind(t.S))
		}
		if t.P.Kind != KindIRI {
			return nil, fmt.Errorf("rdf: Turtle cannot write a triple whose predicate is %s", describeKind(t.P))
		}
		if t.O.IsZero() {
			return nil, fmt.Errorf("rdf: Turtle cannot write a triple without an object")
		}
		g, ok := group[t.S]
		if !ok {
			g = len(tw.order)
			group[t.S] = g
			tw.order = append(tw.order, t.S)
			counts = append(counts, 0)
		}
		counts[g]++
	}
	next := make([]int, len(counts))
	for g := 1; g < len(counts); g++ {
		next[g] = next[g-1] + counts[g-1]
	}
	perm := make([]int32, len(triples))
	for i, t := range triples {
		g := group[t.S]
		perm[next[g]] = int32(i)
		next[g]++
	}
	for g, s := range tw.order {
		idx := perm[next[g]-counts[g] : next[g]]
		slices.SortFunc(idx, func(a, b int32) int {
			x, y := &triples[a], &triples[b]
			return cmp.Or(x.P.Compare(y.P), x.O.Compare(y.O))
		})
		idx = slices.CompactFunc(idx, func(a, b int32) bool { return triples[a] == triples[b] })
		tw.subjects[s] = idx
		for _, i := range idx {
			if o := triples[i].O; o.Kind == KindBlank {
				tw.refs[o]++
			}
		}
	}
	slices.SortFunc(tw.order, Term.Compare)
	for name, ns := range prefixes {
		if validPrefixName(name) {
			tw.prefixes = append(tw.prefixes, prefixNS{name, ns})
		}
	}
	slices.SortFunc(tw.prefixes, func(a, b prefixNS) int {
		return cmp.Or(cmp.Compare(len(b.ns), len(a.ns)), cmp.Compare(a.name, b.name))
	})
	return tw, nil
}

func describeKind(t Term) string {
	switch t.Kind {
	case KindBlank:
		return "a blank node"
	case KindLiteral:
		return "a literal"
	case KindNone:
		return "missing"
	}
	return "an IRI"
}

// header writes @base and the @prefix lines of the prefixes the body will
// use, found by naming every IRI the body writes.
func (tw *turtleWriter) header(base string) {
	for _, s := range tw.order {
		for _, i := range tw.subjects[s] {
			t := &tw.src[i]
			if t.S.Kind == KindIRI {
				tw.iriName(t.S.Value)
			}
			if t.P.Value != RDFType {
				tw.iriName(t.P.Value)
			}
			switch {
			case t.O.Kind == KindIRI && t.O.Value != RDFNil:
				tw.iriName(t.O.Value)
			case t.O.Kind == KindLiteral && t.O.Lang == "" && t.O.Datatype != XSDString && !bareLiteral(t.O):
				tw.iriName(t.O.Datatype)
			}
		}
	}
	if base != "" {
		tw.buf = append(tw.buf, "@base "...)
		tw.buf = appendIRIRef(tw.buf, base)
		tw.buf = append(tw.buf, " .\n"...)
	}
	for _, p := range sortedKeys(tw.used) {
		tw.buf = append(tw.buf, "@prefix "...)
		tw.buf = append(tw.buf, p...)
		tw.buf = append(tw.buf, ": "...)
		tw.buf = appendIRIRef(tw.buf, tw.used[p])
		tw.buf = append(tw.buf, " .\n"...)
	}
	if len(tw.buf) > 0 && len(tw.order) > 0 {
		tw.buf = append(tw.buf, '\n')
	}
}

// flushIfFull writes out the buffer once it holds a chunk.
func (tw *turtleWriter) flushIfFull() {
	if len(tw.buf) >= writeChunk {
		_ = tw.flush()
	}
}

func (tw *turtleWriter) flush() error {
	if tw.err == nil && len(tw.buf) > 0 {
		if _, err := tw.w.Write(tw.buf); err != nil {
			tw.err = fmt.Errorf("rdf: writing Turtle: %w", err)
		}
	}
	tw.buf = tw.buf[:0]
	return tw.err
}

// body writes all statements.
func (tw *turtleWriter) body() {
	first := true
	for _, s := range tw.order {
		if s.Kind == KindBlank && (tw.refs[s] == 1 || tw.done[s]) {
			continue // written where it is used (or below, if never reached)
		}
		tw.statement(s, &first)
	}
	// Blank nodes used once, but only from each other in a cycle, or
	// past the nesting limit.
	for _, s := range tw.order {
		if s.Kind == KindBlank && !tw.done[s] {
			tw.statement(s, &first)
		}
	}
}

func (tw *turtleWriter) statement(s Term, first *bool) {
	if !*first {
		tw.buf = append(tw.buf, '\n')
	}
	*first = false
	if s.Kind == KindBlank {
		tw.done[s] = true
		if tw.refs[s] == 0 {
			tw.buf = append(tw.buf, "[]"...)
		} else {
			tw.buf = append(tw.buf, "_:"...)
			tw.buf = append(tw.buf, tw.label(s)...)
		}
	} else {
		tw.writeIRI(s.Value)
	}
	tw.buf = append(tw.buf, ' ')
	tw.predicateObjects(s, 1)
	tw.buf = append(tw.buf, " .\n"...)
	tw.flushIfFull()
}

// predicateObjects writes the predicate-object list of s, continuation
// lines indented by depth levels; rdf:type comes first.
func (tw *turtleWriter) predicateObjects(s Term, depth int) {
	var prev Term
	n := 0
	for pass := range 2 {
		for _, i := range tw.subjects[s] {
			t := &tw.src[i]
			if (t.P.Value == RDFType) != (pass == 0) {
				continue
			}
			if n > 0 && t.P == prev {
				tw.buf = append(tw.buf, ", "...)
			} else {
				if n > 0 {
					tw.buf = append(tw.buf, " ;\n"...)
					tw.indent(depth)
				}
				if pass == 0 {
					tw.buf = append(tw.buf, 'a')
				} else {
					tw.writeIRI(t.P.Value)
				}
				tw.buf = append(tw.buf, ' ')
			}
			tw.object(t.O, depth)
			prev = t.P
			n++
		}
	}
}

func (tw *turtleWriter) indent(depth int) {
	for range depth {
		tw.buf = append(tw.buf, "    "...)
	}
}

func (tw *turtleWriter) object(o Term, depth int) {
	switch o.Kind {
	case KindIRI:
		if o.Value == RDFNil {
			tw.buf = append(tw.buf, "()"...)
			return
		}
		tw.writeIRI(o.Value)
	case KindLiteral:
		tw.writeLiteral(o)
	case KindBlank:
		if tw.refs[o] != 1 || tw.done[o] || tw.nest >= maxWriteNesting {
			// Past the nesting limit the node stays not done: body writes
			// it as a statement of its own.
			tw.buf = append(tw.buf, "_:"...)
			tw.buf = append(tw.buf, tw.label(o)...)
			return
		}
		tw.nest++
		defer func() { tw.nest-- }()
		if items, ok := tw.list(o); ok {
			tw.buf = append(tw.buf, '(')
			for _, item := range items {
				tw.buf = append(tw.buf, ' ')
				tw.object(item, depth)
			}
			tw.buf = append(tw.buf, " )"...)
			return
		}
		tw.done[o] = true
		ts := tw.subjects[o]
		switch {
		case len(ts) == 0:
			tw.buf = append(tw.buf, "[]"...)
		case len(ts) == 1 && !tw.nests(tw.src[ts[0]].O):
			tw.buf = append(tw.buf, "[ "...)
			tw.predicateObjects(o, depth+1)
			tw.buf = append(tw.buf, " ]"...)
		default:
			tw.buf = append(tw.buf, "[\n"...)
			tw.indent(depth + 1)
			tw.predicateObjects(o, depth+1)
			tw.buf = append(tw.buf, '\n')
			tw.indent(depth)
			tw.buf = append(tw.buf, ']')
		}
	}
}

// nests reports whether writing o as an object would open a [ ... ] or
// ( ... ).
func (tw *turtleWriter) nests(o Term) bool {
	return o.Kind == KindBlank && tw.refs[o] == 1 && !tw.done[o]
}

// list reports whether the blank node head starts a well-formed list that
// can be written as ( ... ): each node has exactly one rdf:first and one
// rdf:rest and nothing else, is used only by the previous node, and the
// chain ends in rdf:nil. It marks the list nodes written and returns the
// items.
func (tw *turtleWriter) list(head Term) ([]Term, bool) {
	var items, nodes []Term
	seen := map[Term]bool{}
	for n := head; n.Value != RDFNil || n.Kind != KindIRI; {
		ts := tw.subjects[n]
		if n.Kind != KindBlank || len(ts) != 2 || tw.refs[n] != 1 || tw.done[n] || seen[n] {
			return nil, false
		}
		first, rest := tw.src[ts[0]], tw.src[ts[1]]
		if first.P.Value != RDFFirst || rest.P.Value != RDFRest {
			return nil, false
		}
		seen[n] = true
		nodes = append(nodes, n)
		items = append(items, first.O)
		n = rest.O
	}
	for _, n := range nodes {
		tw.done[n] = true
	}
	return items, true
}

func (tw *turtleWriter) label(b Term) string {
	l, ok := tw.labels[b]
	if !ok {
		l = "b" + itoa(len(tw.labels))
		tw.labels[b] = l
	}
	return l
}

// writeIRI writes an IRI as a prefixed name, a relative IRI or <iri>.
func (tw *turtleWriter) writeIRI(iri string) {
	if name, ok := tw.names[iri]; ok {
		tw.buf = append(tw.buf, name...)
		return
	}
	tw.buf = tw.appendIRI(tw.buf, iri)
}

// iriName notes how an IRI is written (and the prefix it uses).
func (tw *turtleWriter) iriName(iri string) {
	if _, ok := tw.names[iri]; ok || len(tw.names) >= maxCache {
		if !ok {
			tw.appendIRI(nil, iri)
		}
		return
	}
	tw.names[iri] = string(tw.appendIRI(nil, iri))
}

func (tw *turtleWriter) appendIRI(b []byte, iri string) []byte {
	for _, p := range tw.prefixes {
		if local, ok := strings.CutPrefix(iri, p.ns); ok && validLocalName(local) {
			tw.used[p.name] = p.ns
			b = append(b, p.name...)
			b = append(b, ':')
			return append(b, local...)
		}
	}
	if rel, ok := relativeIRI(tw.base, iri); ok {
		return appendIRIRef(b, rel)
	}
	return appendIRIRef(b, iri)
}

func (tw *turtleWriter) writeLiteral(l Term) {
	switch {
	case l.Lang != "":
		tw.buf = appendQuoted(tw.buf, l.Value, strings.Contains(l.Value, "\n"))
		tw.buf = append(tw.buf, '@')
		tw.buf = append(tw.buf, l.Lang...)
		return
	case l.Datatype == XSDString || l.Datatype == "":
		tw.buf = appendQuoted(tw.buf, l.Value, strings.Contains(l.Value, "\n"))
		return
	case bareLiteral(l):
		tw.buf = append(tw.buf, l.Value...)
		return
	}
	tw.buf = appendQuoted(tw.buf, l.Value, strings.Contains(l.Value, "\n"))
	tw.buf = append(tw.buf, "^^"...)
	tw.writeIRI(l.Datatype)
}
