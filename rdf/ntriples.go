package rdf

import (
	"bytes"
	"io"
	"strings"
)

// NQuadsReader reads RDF 1.1 N-Quads (ParseNQuads), or N-Triples
// (ParseNTriples), one statement per line. It is strict: IRIs must be
// absolute, strings use double quotes, and each statement ends with '.' on
// its own line. Blank node labels are kept as written.
type NQuadsReader struct {
	s      scanner
	graphs bool // N-Quads: a graph label may follow the object
	err    error
	iris   map[string]string // interned IRIs, up to maxCache
}

// ParseNQuads parses a whole N-Quads document.
func ParseNQuads(data []byte) ([]Quad, error) {
	return readAllQuads(&NQuadsReader{s: newBytesScanner(data), graphs: true, iris: map[string]string{}}, statementBound(data))
}

// ParseNTriples parses a whole N-Triples document.
func ParseNTriples(data []byte) ([]Triple, error) {
	quads, err := readAllQuads(&NQuadsReader{s: newBytesScanner(data), iris: map[string]string{}}, statementBound(data))
	if err != nil {
		return nil, err
	}
	triples := make([]Triple, len(quads))
	for i, q := range quads {
		triples[i] = q.Triple()
	}
	return triples, nil
}

// statementBound bounds the number of statements in data: they end with a
// line break and take at least 15 bytes ("<a:> <b:> <c:>.").
func statementBound(data []byte) int {
	return min(bytes.Count(data, []byte{'\n'}), len(data)/15) + 1
}

// readAllQuads reads r to the end; lines (an upper bound of the number of
// statements) sizes the result.
func readAllQuads(r *NQuadsReader, lines int) ([]Quad, error) {
	out := make([]Quad, 0, min(lines, MaxStatements))
	for {
		q, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out) == MaxStatements {
			return nil, tooMany()
		}
		out = append(out, q)
	}
}

// Next returns the next quad, or io.EOF after the last one. Malformed input
// gives a *SyntaxError; after any error, Next keeps returning it.
func (r *NQuadsReader) Next() (Quad, error) {
	if r.err != nil {
		return Quad{}, r.err
	}
	q, err := r.next()
	if err != nil {
		r.err = err
	}
	return q, err
}

// blanks skips spaces and tabs.
func (r *NQuadsReader) blanks() {
	for c := r.s.peek(); c == ' ' || c == '\t'; c = r.s.peek() {
		r.s.skip()
	}
}

func (r *NQuadsReader) next() (Quad, error) {
	s := &r.s
	for {
		r.blanks()
		switch c := s.peek(); c {
		case -1:
			if s.rerr != nil {
				return Quad{}, s.errorf("")
			}
			return Quad{}, io.EOF
		case '\n', '\r':
			s.skip()
			continue
		case '#':
			r.comment()
			continue
		}
		break
	}
	var q Quad
	var err error
	if q.S, err = r.term("subject", true, true, false); err != nil {
		return Quad{}, err
	}
	r.blanks()
	if q.P, err = r.term("predicate", true, false, false); err != nil {
		return Quad{}, err
	}
	r.blanks()
	if q.O, err = r.term("object", true, true, true); err != nil {
		return Quad{}, err
	}
	r.blanks()
	if r.graphs && s.peek() != '.' {
		if q.G, err = r.term("graph label", true, true, false); err != nil {
			return Quad{}, err
		}
		r.blanks()
	}
	if s.peek() != '.' {
		return Quad{}, s.errorf("expected '.' at the end of the statement, found %s", s.describe())
	}
	s.skip()
	r.blanks()
	if s.peek() == '#' {
		r.comment()
	}
	switch s.peek() {
	case '\n', '\r', -1:
		return q, nil
	}
	return Quad{}, s.errorf("expected the end of the line after '.', found %s", s.describe())
}

func (r *NQuadsReader) comment() {
	for c := r.s.peek(); c >= 0 && c != '\n' && c != '\r'; c = r.s.peek() {
		r.s.skip()
	}
}

// term reads one term of the kinds allowed.
func (r *NQuadsReader) term(what string, iri, blank, literal bool) (Term, error) {
	s := &r.s
	line, col := s.line, s.col
	switch c := s.peek(); {
	case c == '<' && iri:
		if err := s.readIRIRefTok(); err != nil {
			return Term{}, err
		}
		if v, ok := r.iris[string(s.tok)]; ok {
			return IRI(v), nil
		}
		v := string(s.tok)
		if !isAbsoluteIRI(v) {
			return Term{}, s.errorAt(line, col, "relative IRI <%s>: N-Triples and N-Quads need absolute IRIs", v)
		}
		if len(r.iris) < maxCache {
			r.iris[v] = v
		}
		return IRI(v), nil
	case c == '_' && blank:
		if s.peekAt(1) != ':' {
			break
		}
		if err := s.readBlankLabel(); err != nil {
			return Term{}, err
		}
		return Blank(string(s.tok)), nil
	case c == '"' && literal:
		lex, err := s.readString(false, false)
		if err != nil {
			return Term{}, err
		}
		// White space may separate any two terminals, even these.
		r.blanks()
		switch s.peek() {
		case '@':
			lang, err := s.readLangTag()
			if err != nil {
				return Term{}, err
			}
			return LangLiteral(lex, lang), nil
		case '^':
			if s.peekAt(1) != '^' {
				return Term{}, s.errorf("expected '^^' before a datatype IRI")
			}
			s.skipN(2)
			r.blanks()
			dt, err := r.term("datatype", true, false, false)
			if err != nil {
				return Term{}, err
			}
			return Literal(lex, dt.Value), nil
		}
		return Literal(lex, XSDString), nil
	}
	return Term{}, s.errorf("expected the %s, found %s", what, s.describe())
}

// isAbsoluteIRI reports whether s starts with a scheme: a letter, then
// letters, digits, '+', '-' or '.', then ':'.
func isAbsoluteIRI(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIILetter(int(c)):
		case i > 0 && (isDigit(int(c)) || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// WriteNTriples writes triples as N-Triples, one per line, in the order
// given.
func WriteNTriples(w io.Writer, triples []Triple) error {
	return WriteNQuads(w, triplesToQuads(triples))
}

// WriteNQuads writes quads as N-Quads, one per line, in the order given.
// Blank node labels are kept where valid; others are replaced consistently.
func WriteNQuads(w io.Writer, quads []Quad) error {
	return writeNQuads(w, quads, appendIRIRef)
}

// writeNQuads writes quads as N-Quads with iri writing IRIs.
func writeNQuads(w io.Writer, quads []Quad, iri func([]byte, string) []byte) error {
	bw := newByteWriter(w)
	labels := newBlankLabeler(quads)
	for _, q := range quads {
		for i, t := range [4]Term{q.S, q.P, q.O, q.G} {
			if i == 3 && t.IsZero() {
				continue
			}
			if i > 0 {
				bw.buf = append(bw.buf, ' ')
			}
			bw.buf = appendNTermWith(bw.buf, t, labels, iri)
		}
		bw.buf = append(bw.buf, " .\n"...)
		if err := bw.flushIfFull(); err != nil {
			return err
		}
	}
	return bw.flush()
}

// String returns the term in N-Triples syntax.
func (t Term) String() string {
	if t.IsZero() {
		return ""
	}
	return string(appendNTerm(nil, t, nil))
}

// String returns the triple as an N-Triples statement, without a newline.
func (t Triple) String() string {
	return t.S.String() + " " + t.P.String() + " " + t.O.String() + " ."
}

// String returns the quad as an N-Quads statement, without a newline.
func (q Quad) String() string {
	if q.G.IsZero() {
		return q.Triple().String()
	}
	return q.S.String() + " " + q.P.String() + " " + q.O.String() + " " + q.G.String() + " ."
}

// appendNTerm appends t in N-Triples syntax.
func appendNTerm(b []byte, t Term, labels *blankLabeler) []byte {
	return appendNTermWith(b, t, labels, appendIRIRef)
}

// appendNTermWith appends t in N-Triples syntax with iri writing IRIs.
func appendNTermWith(b []byte, t Term, labels *blankLabeler, iri func([]byte, string) []byte) []byte {
	switch t.Kind {
	case KindIRI:
		return iri(b, t.Value)
	case KindBlank:
		b = append(b, "_:"...)
		return append(b, labels.label(t.Value)...)
	case KindLiteral:
		b = appendQuoted(b, t.Value, false)
		switch {
		case t.Lang != "":
			b = append(b, '@')
			return append(b, t.Lang...)
		case t.Datatype != XSDString && t.Datatype != "":
			b = append(b, "^^"...)
			return iri(b, t.Datatype)
		}
	}
	return b
}

// blankLabeler keeps valid blank node labels and replaces the others with
// fresh ones that clash with no label in use.
type blankLabeler struct {
	used    map[string]bool
	renamed map[string]string
}

func newBlankLabeler(quads []Quad) *blankLabeler {
	l := &blankLabeler{}
	for _, q := range quads {
		for _, t := range [4]Term{q.S, q.P, q.O, q.G} {
			if t.Kind == KindBlank && !validBlankLabel(t.Value) {
				if l.used == nil {
					l.used, l.renamed = map[string]bool{}, map[string]string{}
				}
				l.renamed[t.Value] = ""
			}
		}
	}
	if l.used == nil {
		return l
	}
	for _, q := range quads {
		for _, t := range [4]Term{q.S, q.P, q.O, q.G} {
			if t.Kind == KindBlank {
				l.used[t.Value] = true
			}
		}
	}
	n := 0
	for _, label := range sortedKeys(l.renamed) {
		for l.used["g"+itoa(n)] {
			n++
		}
		l.renamed[label] = "g" + itoa(n)
		n++
	}
	return l
}

func (l *blankLabeler) label(v string) string {
	if l != nil {
		if r, ok := l.renamed[v]; ok {
			return r
		}
	}
	if l == nil && !validBlankLabel(v) {
		return "x" + hexString(v)
	}
	return v
}

func hexString(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(hex[s[i]>>4])
		b.WriteByte(hex[s[i]&0xf])
	}
	return b.String()
}

// validBlankLabel reports whether v matches the label part of
// BLANK_NODE_LABEL.
func validBlankLabel(v string) bool {
	if v == "" || v[len(v)-1] == '.' {
		return false
	}
	for i, r := range v {
		if i == 0 {
			if !IsPNCharsU(r) && !isDigit(int(r)) {
				return false
			}
		} else if !IsPNChars(r) && r != '.' {
			return false
		}
	}
	return true
}
