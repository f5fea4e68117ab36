package rdf

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// TurtleReader reads RDF 1.1 Turtle as a stream of triples. It reads one
// statement at a time, so memory use is bounded by the largest statement,
// not by the document.
//
// Blank nodes get labels b0, b1, ... in order of appearance; the labels
// written in the document are not kept (they are only unique within it).
type TurtleReader struct {
	s        scanner
	base     iriParts
	baseIRI  string
	prefixes map[string]string
	bnodes   map[string]string
	nblank   int
	queue    []Triple
	next     int
	err      error
	depth    int // open [ ] and ( ), at most MaxDepth
	// size is the bytes of the terms of the triples read so far, at most
	// about MaxExpandedBytes: a prefixed name is short but expands to its
	// namespace, however long, each time it is used.
	size int64

	// Caches of expanded prefixed names and resolved IRIs, keyed by the
	// token as written; dropped when a prefix or the base changes.
	pnames map[string]string
	iris   map[string]string
	langs  map[string]string
}

// maxCache bounds the IRI caches.
const maxCache = 1 << 14

// NewTurtleReader returns a reader of the Turtle document in r. Relative
// IRIs resolve against base (and then against @base/BASE directives); with
// an empty base they are kept as written.
func NewTurtleReader(r io.Reader, base string) *TurtleReader {
	t := newTurtleReader(base)
	t.s = newScanner(r)
	return t
}

func newTurtleReader(base string) *TurtleReader {
	return &TurtleReader{
		base:     splitIRI(base),
		baseIRI:  base,
		prefixes: map[string]string{},
		bnodes:   map[string]string{},
		pnames:   map[string]string{},
		iris:     map[string]string{},
		langs:    map[string]string{},
	}
}

// ParseTurtle parses a whole Turtle document.
func ParseTurtle(data []byte, base string) ([]Triple, error) {
	t := newTurtleReader(base)
	t.s = newBytesScanner(data)
	var out []Triple
	for {
		tr, err := t.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out) == MaxStatements {
			return nil, tooMany()
		}
		out = append(out, tr)
	}
}

// Next returns the next triple, or io.EOF after the last one. Malformed
// input gives a *SyntaxError; after any error, Next keeps returning it.
func (t *TurtleReader) Next() (Triple, error) {
	for t.next >= len(t.queue) {
		if t.err != nil {
			return Triple{}, t.err
		}
		t.queue, t.next = t.queue[:0], 0
		if err := t.statement(); err != nil {
			t.err = err
			t.queue = t.queue[:0] // nothing of a statement that failed
		}
	}
	tr := t.queue[t.next]
	t.next++
	return tr, nil
}

// Prefixes returns the prefixes declared so far (prefix -> namespace).
func (t *TurtleReader) Prefixes() map[string]string {
	m := make(map[string]string, len(t.prefixes))
	for k, v := range t.prefixes {
		m[k] = v
	}
	return m
}

// Base returns the current base IRI.
func (t *TurtleReader) Base() string { return t.baseIRI }

func (t *TurtleReader) emit(s, p, o Term) {
	t.size += int64(len(s.Value) + len(p.Value) + len(o.Value) + len(o.Datatype) + len(o.Lang))
	t.queue = append(t.queue, Triple{S: s, P: p, O: o})
}

func (t *TurtleReader) fresh() Term {
	label := "b" + strconv.Itoa(t.nblank)
	t.nblank++
	return Blank(label)
}

// enter counts a [ or ( being opened, failing past MaxDepth. The caller
// calls leave when it is closed; after an error the reader stops, so error
// paths need not.
func (t *TurtleReader) enter() error {
	if t.depth++; t.depth > MaxDepth {
		err := t.s.errorf(msgTurtleTooDeep, MaxDepth)
		if se, ok := err.(*SyntaxError); ok {
			se.Err = ErrTooDeep
		}
		return err
	}
	return nil
}

func (t *TurtleReader) leave() { t.depth-- }

// ws skips white space and comments.
func (t *TurtleReader) ws() {
	s := &t.s
	for {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.skip()
		case '#':
			for c := s.peek(); c >= 0 && c != '\n' && c != '\r'; c = s.peek() {
				s.skip()
			}
		default:
			return
		}
	}
}

// expect skips white space and consumes the byte c.
func (t *TurtleReader) expect(c byte, what string) error {
	t.ws()
	if t.s.peek() != int(c) {
		return t.s.errorf("expected %s, found %s", what, t.s.describe())
	}
	t.s.skip()
	return nil
}

// statement reads one directive or one triples statement.
func (t *TurtleReader) statement() error {
	t.ws()
	s := &t.s
	c := s.peek()
	switch {
	case c < 0:
		if s.rerr != nil {
			return s.errorf("")
		}
		return io.EOF
	case c == '@':
		return t.atDirective()
	case isNameStart(c):
		line, col := s.line, s.col
		prefix, colon, err := t.readPName()
		if err != nil {
			return err
		}
		if !colon {
			switch strings.ToUpper(string(prefix)) {
			case "PREFIX":
				return t.prefixDirective(false)
			case "BASE":
				return t.baseDirective(false)
			}
			return s.errorAt(line, col, "unexpected word %q: expected a subject or a directive", prefix)
		}
		subj, err := t.expandPName(line, col)
		if err != nil {
			return err
		}
		if err := t.predicateObjectList(subj); err != nil {
			return err
		}
		return t.expect('.', "'.' at the end of the statement")
	}
	if err := t.triples(); err != nil {
		return err
	}
	return t.expect('.', "'.' at the end of the statement")
}

// triples reads a subject that is not a prefixed name and its
// predicate-object list (optional after a blank node property list).
func (t *TurtleReader) triples() error {
	s := &t.s
	var subj Term
	var err error
	switch c := s.peek(); c {
	case '<':
		subj, err = t.iriRef()
	case '_':
		subj, err = t.blankLabel()
	case '(':
		subj, err = t.collection()
	case '[':
		if err := t.enter(); err != nil {
			return err
		}
		s.skip()
		t.ws()
		subj = t.fresh()
		if s.peek() == ']' {
			s.skip()
			t.leave()
			break
		}
		if err := t.predicateObjectList(subj); err != nil {
			return err
		}
		if err := t.expect(']', "']' to close the blank node property list"); err != nil {
			return err
		}
		t.leave()
		t.ws()
		if s.peek() == '.' {
			return nil // a lone [ ... ] statement
		}
	default:
		return s.errorf("expected a subject, found %s", s.describe())
	}
	if err != nil {
		return err
	}
	return t.predicateObjectList(subj)
}

// atDirective reads @prefix or @base.
func (t *TurtleReader) atDirective() error {
	s := &t.s
	line, col := s.line, s.col
	s.skip() // '@'
	var word []byte
	for isASCIILetter(s.peek()) {
		word = append(word, s.buf[s.pos])
		s.skip()
	}
	switch string(word) {
	case "prefix":
		return t.prefixDirective(true)
	case "base":
		return t.baseDirective(true)
	}
	return s.errorAt(line, col, "unknown directive @%s: expected @prefix or @base", word)
}

// prefixDirective reads the rest of @prefix (dot true) or PREFIX.
func (t *TurtleReader) prefixDirective(dot bool) error {
	s := &t.s
	t.ws()
	if c := s.peek(); c != ':' && !isNameStart(c) {
		return s.errorf("expected a prefix name ending in ':', found %s", s.describe())
	}
	prefix, colon, err := t.readPName()
	if err != nil {
		return err
	}
	if !colon || bytes.IndexByte(prefix, ':') != len(prefix)-1 {
		return s.errorf("expected a prefix name ending in ':'")
	}
	name := string(prefix[:len(prefix)-1])
	t.ws()
	if s.peek() != '<' {
		return s.errorf("expected the namespace IRI in <...>, found %s", s.describe())
	}
	ns, err := s.readIRIRef()
	if err != nil {
		return err
	}
	t.prefixes[name] = ResolveIRI(t.baseIRI, ns)
	clear(t.pnames)
	if dot {
		return t.expect('.', "'.' after @prefix")
	}
	return nil
}

// baseDirective reads the rest of @base (dot true) or BASE.
func (t *TurtleReader) baseDirective(dot bool) error {
	s := &t.s
	t.ws()
	if s.peek() != '<' {
		return s.errorf("expected the base IRI in <...>, found %s", s.describe())
	}
	ref, err := s.readIRIRef()
	if err != nil {
		return err
	}
	t.baseIRI = ResolveIRI(t.baseIRI, ref)
	t.base = splitIRI(t.baseIRI)
	clear(t.iris)
	clear(t.pnames)
	if dot {
		return t.expect('.', "'.' after @base")
	}
	return nil
}

// predicateObjectList reads verb objectList (';' (verb objectList)?)*.
func (t *TurtleReader) predicateObjectList(subj Term) error {
	s := &t.s
	for {
		t.ws()
		pred, err := t.verb()
		if err != nil {
			return err
		}
		if err := t.objectList(subj, pred); err != nil {
			return err
		}
		t.ws()
		if s.peek() != ';' {
			return nil
		}
		for s.peek() == ';' {
			s.skip()
			t.ws()
		}
		if c := s.peek(); c != '<' && !isNameStart(c) {
			return nil
		}
	}
}

// verb reads a predicate: an IRI or 'a'.
func (t *TurtleReader) verb() (Term, error) {
	return t.iriOr("a", IRI(RDFType), "a predicate")
}

// objectList reads object (',' object)* and emits a triple per object.
func (t *TurtleReader) objectList(subj, pred Term) error {
	s := &t.s
	for {
		t.ws()
		if _, err := t.object(func(o Term) { t.emit(subj, pred, o) }); err != nil {
			return err
		}
		t.ws()
		if s.peek() != ',' {
			return nil
		}
		s.skip()
	}
}

// object reads an object. Blank node property lists and collections make
// their node first, pass it to use, then read their contents, so triples
// come out parent first.
func (t *TurtleReader) object(use func(Term)) (Term, error) {
	if len(t.queue) >= MaxStatements {
		// One statement (a collection, an object list) that makes more
		// triples than a whole document may hold: refused before its
		// triples take the memory.
		return Term{}, tooMany()
	}
	if t.size > MaxExpandedBytes {
		// Checked before each object, so a document stops one triple past
		// the limit, whatever it would expand to.
		return Term{}, tooLarge()
	}
	s := &t.s
	c := s.peek()
	var o Term
	var err error
	switch {
	case c == '<':
		o, err = t.iriRef()
	case c == '_' && s.peekAt(1) == ':':
		o, err = t.blankLabel()
	case c == '[':
		if err := t.enter(); err != nil {
			return Term{}, err
		}
		s.skip()
		t.ws()
		o = t.fresh()
		use(o)
		if s.peek() == ']' {
			s.skip()
			t.leave()
			return o, nil
		}
		if err := t.predicateObjectList(o); err != nil {
			return Term{}, err
		}
		if err := t.expect(']', "']' to close the blank node property list"); err != nil {
			return Term{}, err
		}
		t.leave()
		return o, nil
	case c == '(':
		return t.collectionUse(use)
	case c == '"' || c == '\'':
		o, err = t.literal()
	case isDigit(c) || c == '+' || c == '-' || (c == '.' && isDigit(s.peekAt(1))):
		o, err = t.number()
	case isNameStart(c):
		line, col := s.line, s.col
		word, colon, perr := t.readPName()
		if perr != nil {
			return Term{}, perr
		}
		if colon {
			o, err = t.expandPName(line, col)
			break
		}
		switch string(word) {
		case "true", "false":
			o = Literal(string(word), XSDBoolean)
		default:
			return Term{}, s.errorAt(line, col, "unexpected word %q: expected an object", word)
		}
	default:
		return Term{}, s.errorf("expected an object, found %s", s.describe())
	}
	if err != nil {
		return Term{}, err
	}
	use(o)
	return o, nil
}

// collection reads '(' object* ')' and returns its head.
func (t *TurtleReader) collection() (Term, error) {
	return t.collectionUse(func(Term) {})
}

func (t *TurtleReader) collectionUse(use func(Term)) (Term, error) {
	s := &t.s
	if err := t.enter(); err != nil {
		return Term{}, err
	}
	defer t.leave()
	s.skip() // '('
	t.ws()
	if s.peek() == ')' {
		s.skip()
		nilTerm := IRI(RDFNil)
		use(nilTerm)
		return nilTerm, nil
	}
	head := t.fresh()
	use(head)
	cur := head
	first, rest := IRI(RDFFirst), IRI(RDFRest)
	for {
		node := cur
		if _, err := t.object(func(o Term) { t.emit(node, first, o) }); err != nil {
			return Term{}, err
		}
		t.ws()
		switch c := s.peek(); c {
		case ')':
			s.skip()
			t.emit(cur, rest, IRI(RDFNil))
			return head, nil
		case -1:
			return Term{}, s.errorf("unterminated collection: missing ')'")
		}
		next := t.fresh()
		t.emit(cur, rest, next)
		cur = next
	}
}
