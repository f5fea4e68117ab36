package patch

import (
	"strconv"
	"strings"

	"podserver/rdf"
)

// The shared parser of Turtle-style triples with variables, used for N3
// formulae and SPARQL blocks alike. It yields patterns whose nodes are
// terms, variables or (N3 only) formulae; what a block may hold is checked
// by the scope it is parsed in and by the callers afterwards.

// node is one position of a pattern: a variable when v is set, a formula
// when f is set, otherwise term. vi is the variable's index in the
// solutions of its operation, -1 when the WHERE clause does not bind it.
type node struct {
	term      rdf.Term
	v         string
	vi        int
	f         *formula
	line, col int
}

func (n node) isVar() bool { return n.v != "" }

// pattern is a triple pattern; line and col are those of its subject.
type pattern struct {
	s, p, o node
}

// formula is the content of a { ... } block.
type formula struct {
	triples   []pattern
	line, col int
}

// scope says what a block may hold; name is used in error messages.
type scope struct {
	name       string
	vars       bool // variables may occur
	formulas   bool // a formula may be an object (the N3 top level)
	directives bool // @prefix and PREFIX may occur between statements
	sparql     bool // SPARQL keywords: name the unsupported ones
}

// maxDepth bounds the nesting of [ ], ( ) and { }: the parser recurses per
// level. Patches are small; a deeper one is refused as malformed (422).
const maxDepth = 64

// parser holds the state of one document: the lookahead token, the base
// IRI, the prefixes and a counter naming anonymous blank nodes.
type parser struct {
	lx       lexer
	tok      token
	base     string
	prefixes map[string]string
	nanon    int
	depth    int
	expanded int64 // bytes of the IRIs read, at most rdf.MaxExpandedBytes
}

func newParser(src, base string, sparql bool) (*parser, error) {
	p := &parser{lx: newLexer(src, sparql), base: base, prefixes: map[string]string{}}
	return p, p.advance()
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// errTok returns a Malformed error at the current token.
func (p *parser) errTok(format string, args ...any) *Error {
	return malformedAt(p.tok.line, p.tok.col, format, args...)
}

// expected reports that something else than the current token was due.
func (p *parser) expected(what string) *Error {
	return p.errTok(msgExpected, what, p.tok)
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.val == s }

// isKeyword reports whether the current token is the keyword kw (SPARQL
// keywords are case-insensitive).
func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.val, kw)
}

func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.expected("'" + s + "'")
	}
	return p.advance()
}

// unsupportedKeyword reports whether w starts a SPARQL construct beyond
// basic graph patterns and the operations we implement, and names it.
func unsupportedKeyword(w string) (string, bool) {
	switch kw := strings.ToUpper(w); kw {
	case "OPTIONAL", "FILTER", "UNION", "MINUS", "BIND", "VALUES", "SERVICE", "GRAPH",
		"SELECT", "WITH", "USING", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY":
		return kw, true
	}
	return "", false
}

// n3Keyword reports whether w (after '@') is an N3 keyword.
func n3Keyword(w string) bool {
	switch w {
	case "forAll", "forSome", "keywords", "a", "is", "of", "has":
		return true
	}
	return false
}

// unexpected reports the current token as out of place, naming the
// unsupported construct it starts when it starts one.
func (p *parser) unexpected(sc scope) *Error {
	t := p.tok
	switch {
	case t.kind == tWord && sc.sparql:
		if kw, ok := unsupportedKeyword(t.val); ok {
			return p.errTok("%s: %s", msgNotSupported, kw)
		}
	case t.kind == tPunct && t.val == "{":
		switch {
		case sc.sparql:
			return p.errTok("%s: nested group graph patterns", msgNotSupported)
		case sc.formulas:
			return p.errTok("%s: formulae as subjects", msgNotSupported)
		}
		return p.errTok(msgNestedFormula)
	case t.kind == tPunct && (t.val == "=" || t.val == "=>" || t.val == "<="):
		return p.errTok("%s: N3 %s", msgNotSupported, t.val)
	case t.kind == tLang && !sc.sparql && n3Keyword(t.val):
		return p.errTok("%s: N3 @%s", msgNotSupported, t.val)
	case t.kind == tVar && !sc.vars:
		return p.errTok(msgVariableIn, sc.name)
	}
	return p.errTok(msgUnexpected, t)
}

// directive parses a prefix or base directive if one starts here.
func (p *parser) directive(n3 bool) (bool, error) {
	var isPrefix, dotted bool
	switch {
	case n3 && p.tok.kind == tLang && (p.tok.val == "prefix" || p.tok.val == "base"):
		isPrefix, dotted = p.tok.val == "prefix", true
	case p.isKeyword("PREFIX") || p.isKeyword("BASE"):
		isPrefix = p.isKeyword("PREFIX")
	default:
		return false, nil
	}
	if err := p.advance(); err != nil {
		return true, err
	}
	prefix := ""
	if isPrefix {
		if p.tok.kind != tPName || p.tok.local != "" {
			return true, p.expected("a prefix name")
		}
		prefix = p.tok.val
		if err := p.advance(); err != nil {
			return true, err
		}
	}
	if p.tok.kind != tIRI {
		return true, p.expected("an IRI")
	}
	iri := rdf.ResolveIRI(p.base, p.tok.val)
	if isPrefix {
		p.prefixes[prefix] = iri
	} else {
		p.base = iri
	}
	if err := p.advance(); err != nil {
		return true, err
	}
	if dotted {
		return true, p.expectPunct(".")
	}
	return true, nil
}

// group parses { statements } and returns its patterns.
func (p *parser) group(sc scope) (*formula, error) {
	f := &formula{line: p.tok.line, col: p.tok.col}
	if !p.isPunct("{") {
		return nil, p.expected("'{'")
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	for !p.isPunct("}") {
		if sc.directives {
			if ok, err := p.directive(true); ok || err != nil {
				if err != nil {
					return nil, err
				}
				continue
			}
		}
		var err error
		if f.triples, err = p.triples(sc, f.triples); err != nil {
			return nil, err
		}
		if p.isPunct(".") {
			if err := p.advance(); err != nil {
				return nil, err
			}
		} else if !p.isPunct("}") {
			if p.tok.kind == tEOF {
				return nil, p.expected("'}'")
			}
			return nil, p.unexpected(sc)
		}
	}
	p.depth--
	return f, p.advance()
}

// enter consumes an opening bracket, counting the nesting.
func (p *parser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return p.errTok(msgTooDeep, maxDepth)
	}
	return p.advance()
}

// triples parses a subject with its predicate-object list.
func (p *parser) triples(sc scope, out []pattern) ([]pattern, error) {
	if p.isPunct("[") {
		s, out, err := p.blankList(sc, out)
		if err != nil || p.isPunct(".") || p.isPunct("}") || p.tok.kind == tEOF {
			return out, err
		}
		return p.predicateObjects(sc, s, out)
	}
	var s node
	var err error
	switch p.tok.kind {
	case tIRI, tPName, tBlank, tVar:
		s, err = p.term(sc)
	default:
		if p.isPunct("(") {
			s, out, err = p.collection(sc, out)
			break
		}
		return out, p.unexpected(sc)
	}
	if err != nil {
		return out, err
	}
	return p.predicateObjects(sc, s, out)
}

// predicateObjects parses verb objects (; verb objects)* for subject s.
func (p *parser) predicateObjects(sc scope, s node, out []pattern) ([]pattern, error) {
	for {
		v, err := p.verb(sc)
		if err != nil {
			return out, err
		}
		for {
			var o node
			if o, out, err = p.object(sc, out); err != nil {
				return out, err
			}
			out = append(out, pattern{s: s, p: v, o: o})
			if !p.isPunct(",") {
				break
			}
			if err := p.advance(); err != nil {
				return out, err
			}
		}
		if !p.isPunct(";") {
			return out, nil
		}
		for p.isPunct(";") {
			if err := p.advance(); err != nil {
				return out, err
			}
		}
		if p.isPunct(".") || p.isPunct("]") || p.isPunct("}") || p.tok.kind == tEOF {
			return out, nil
		}
	}
}

// verb parses a predicate: an IRI, 'a' or a variable.
func (p *parser) verb(sc scope) (node, error) {
	n := node{line: p.tok.line, col: p.tok.col}
	switch {
	case p.tok.kind == tWord && p.tok.val == "a":
		n.term = rdf.IRI(rdf.RDFType)
		if err := p.advance(); err != nil {
			return n, err
		}
	case p.tok.kind == tIRI || p.tok.kind == tPName || p.tok.kind == tVar:
		var err error
		if n, err = p.term(sc); err != nil {
			return n, err
		}
	case sc.sparql && (p.isPunct("^") || p.isPunct("!") || p.isPunct("(")):
		return n, p.errTok("%s: property paths", msgNotSupported)
	default:
		if p.tok.kind == tBlank || p.tok.kind == tString || p.isPunct("[") {
			return n, p.expected("a predicate")
		}
		return n, p.unexpected(sc)
	}
	if sc.sparql && p.tok.kind == tPunct && strings.Contains("/|*+?", p.tok.val) {
		return n, p.errTok("%s: property paths", msgNotSupported)
	}
	return n, nil
}

// object parses an object: a term, a literal, [ ... ], ( ... ) or, at the
// N3 top level, a formula.
func (p *parser) object(sc scope, out []pattern) (node, []pattern, error) {
	switch {
	case p.isPunct("["):
		return p.blankList(sc, out)
	case p.isPunct("("):
		return p.collection(sc, out)
	case p.isPunct("{") && !sc.formulas && !sc.sparql:
		return node{}, out, p.errTok(msgNestedFormula)
	case p.isPunct("{") && sc.formulas:
		inner := scope{name: "a formula", vars: true, directives: true}
		f, err := p.group(inner)
		if err != nil {
			return node{}, out, err
		}
		return node{f: f, line: f.line, col: f.col}, out, nil
	}
	n, err := p.term(sc)
	return n, out, err
}

// term parses an IRI, a blank node label, a variable or a literal.
func (p *parser) term(sc scope) (node, error) {
	t := p.tok
	n := node{line: t.line, col: t.col}
	switch t.kind {
	case tIRI, tPName:
		iri, err := p.iri()
		if err != nil {
			return n, err
		}
		n.term = rdf.IRI(iri)
		return n, nil
	case tBlank:
		n.term = rdf.Blank(t.val)
	case tVar:
		if !sc.vars {
			return n, p.unexpected(sc)
		}
		n.v = t.val
	case tString:
		lit, err := p.literal()
		n.term = lit
		return n, err
	case tInteger:
		n.term = rdf.Literal(t.val, rdf.XSDInteger)
	case tDecimal:
		n.term = rdf.Literal(t.val, rdf.XSDDecimal)
	case tDouble:
		n.term = rdf.Literal(t.val, rdf.XSDDouble)
	case tWord:
		if t.val != "true" && t.val != "false" {
			return n, p.unexpected(sc)
		}
		n.term = rdf.Literal(t.val, rdf.XSDBoolean)
	default:
		if t.kind == tEOF || t.kind == tPunct {
			return n, p.expected("a term")
		}
		return n, p.unexpected(sc)
	}
	return n, p.advance()
}

// iri reads an IRI reference or prefixed name, giving the absolute IRI.
func (p *parser) iri() (string, error) {
	t := p.tok
	var iri string
	switch t.kind {
	case tIRI:
		iri = rdf.ResolveIRI(p.base, t.val)
	case tPName:
		ns, ok := p.prefixes[t.val]
		if !ok {
			return "", p.errTok(msgUndefinedPrefix, t.val)
		}
		iri = ns + t.local
	default:
		return "", p.expected("an IRI")
	}
	// A prefixed name (or a relative IRI) is short but expands to its
	// namespace (its base), however long, each time it is used.
	if p.expanded += int64(len(iri)); p.expanded > rdf.MaxExpandedBytes {
		return "", p.errTok(msgExpandedTooLarge, rdf.MaxExpandedBytes)
	}
	return iri, p.advance()
}

// literal reads a string with an optional language tag or datatype.
func (p *parser) literal() (rdf.Term, error) {
	lex := p.tok.val
	if err := p.advance(); err != nil {
		return rdf.Term{}, err
	}
	switch {
	case p.tok.kind == tLang:
		lang := p.tok.val
		return rdf.LangLiteral(lex, lang), p.advance()
	case p.isPunct("^^"):
		if err := p.advance(); err != nil {
			return rdf.Term{}, err
		}
		dt, err := p.iri()
		return rdf.Literal(lex, dt), err
	}
	return rdf.Literal(lex, rdf.XSDString), nil
}

// anon returns a new anonymous blank node. Its label starts with '-',
// which no label written in a document can, so it clashes with none.
func (p *parser) anon(line, col int) node {
	p.nanon++
	return node{term: rdf.Blank("-" + strconv.Itoa(p.nanon)), line: line, col: col}
}

// blankList parses [ predicate-object list ] and returns its blank node.
func (p *parser) blankList(sc scope, out []pattern) (node, []pattern, error) {
	b := p.anon(p.tok.line, p.tok.col)
	if err := p.enter(); err != nil {
		return b, out, err
	}
	if !p.isPunct("]") {
		var err error
		if out, err = p.predicateObjects(sc, b, out); err != nil {
			return b, out, err
		}
	}
	p.depth--
	return b, out, p.expectPunct("]")
}

// collection parses ( objects ) into an RDF list and returns its head.
func (p *parser) collection(sc scope, out []pattern) (node, []pattern, error) {
	line, col := p.tok.line, p.tok.col
	if err := p.enter(); err != nil {
		return node{}, out, err
	}
	head := node{term: rdf.IRI(rdf.RDFNil), line: line, col: col}
	var prev node
	for !p.isPunct(")") {
		cell := p.anon(p.tok.line, p.tok.col)
		var item node
		var err error
		if item, out, err = p.object(sc, out); err != nil {
			return head, out, err
		}
		if item.f != nil {
			return head, out, malformedAt(item.line, item.col, msgStrayFormula)
		}
		if prev.term.IsZero() {
			head = cell
		} else {
			out = append(out, pattern{s: prev, p: iriNode(rdf.RDFRest, cell), o: cell})
		}
		out = append(out, pattern{s: cell, p: iriNode(rdf.RDFFirst, cell), o: item})
		prev = cell
	}
	if !prev.term.IsZero() {
		out = append(out, pattern{s: prev, p: iriNode(rdf.RDFRest, prev), o: iriNode(rdf.RDFNil, prev)})
	}
	p.depth--
	return head, out, p.advance()
}

// iriNode returns a node for iri at the position of n.
func iriNode(iri string, at node) node {
	return node{term: rdf.IRI(iri), line: at.line, col: at.col}
}
