// Package rdf holds podserver's RDF data model and its Turtle, N-Triples,
// N-Quads and JSON-LD readers and writers.
//
// The model is deliberately small: a Term is an IRI, a blank node or a
// literal; a Quad is a triple with an optional graph name. Conversion to and
// from json-gold's RDFDataset lets JSON-LD and Turtle meet in one model.
//
// Nothing here recurses with the depth of its input unchecked: readers
// refuse documents nested past their limits (MaxDepth for Turtle,
// jsoncheck.MaxDepth for JSON-LD) with an error wrapping ErrTooDeep, and
// writers stop nesting at a fixed depth instead of failing (limits.go).
// This package must not import any other podserver package but jsoncheck,
// the leaf package that holds the one pre-check of JSON input.
package rdf

// Kind says what a Term is.
type Kind uint8

// The kinds of Term. The zero Kind marks the zero Term (no term), used as the
// graph name of a quad in the default graph.
const (
	KindNone Kind = iota
	KindIRI
	KindBlank
	KindLiteral
)

// Well-known datatype IRIs.
const (
	XSDString     = "http://www.w3.org/2001/XMLSchema#string"
	XSDInteger    = "http://www.w3.org/2001/XMLSchema#integer"
	XSDDecimal    = "http://www.w3.org/2001/XMLSchema#decimal"
	XSDDouble     = "http://www.w3.org/2001/XMLSchema#double"
	XSDBoolean    = "http://www.w3.org/2001/XMLSchema#boolean"
	RDFLangString = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
	RDFType       = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	RDFFirst      = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
	RDFRest       = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
	RDFNil        = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil"
)

// Term is an RDF term. For an IRI, Value is the absolute IRI; for a blank
// node, Value is its label without "_:"; for a literal, Value is the lexical
// form, Datatype its datatype IRI (XSDString when plain, RDFLangString when
// Lang is set) and Lang its language tag.
type Term struct {
	Kind     Kind
	Value    string
	Datatype string
	Lang     string
}

// IRI returns an IRI term.
func IRI(v string) Term { return Term{Kind: KindIRI, Value: v} }

// Blank returns a blank node term with the given label.
func Blank(label string) Term { return Term{Kind: KindBlank, Value: label} }

// Literal returns a literal with the given datatype; an empty datatype means
// xsd:string.
func Literal(v, datatype string) Term {
	if datatype == "" {
		datatype = XSDString
	}
	return Term{Kind: KindLiteral, Value: v, Datatype: datatype}
}

// LangLiteral returns a language-tagged string.
func LangLiteral(v, lang string) Term {
	return Term{Kind: KindLiteral, Value: v, Datatype: RDFLangString, Lang: lang}
}

// IsZero reports whether t is the zero Term.
func (t Term) IsZero() bool { return t.Kind == KindNone }

// Triple is an RDF triple.
type Triple struct {
	S, P, O Term
}

// Quad is a triple in a named graph; G is the zero Term for the default graph.
type Quad struct {
	S, P, O, G Term
}

// Triple returns the quad without its graph name.
func (q Quad) Triple() Triple { return Triple{S: q.S, P: q.P, O: q.O} }
