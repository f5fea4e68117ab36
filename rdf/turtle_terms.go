package rdf

import (
	"bytes"
	"strings"
)

// The terms of Turtle: IRIs, prefixed names, blank node labels, literals
// and numbers, read by TurtleReader; and the checks WriteTurtle uses to know
// when a short form reads back the same.

// iriRef reads an IRIREF and resolves it against the base.
func (t *TurtleReader) iriRef() (Term, error) {
	if err := t.s.readIRIRefTok(); err != nil {
		return Term{}, err
	}
	if iri, ok := t.iris[string(t.s.tok)]; ok {
		return IRI(iri), nil
	}
	ref := string(t.s.tok)
	iri := ref
	if t.baseIRI != "" {
		iri = resolveParts(t.base, ref)
	}
	if len(t.iris) >= maxCache {
		clear(t.iris)
	}
	t.iris[ref] = iri
	return IRI(iri), nil
}

// blankLabel reads a labelled blank node.
func (t *TurtleReader) blankLabel() (Term, error) {
	s := &t.s
	if s.peekAt(1) != ':' {
		return Term{}, s.errorf("expected '_:' to start a blank node label")
	}
	if err := s.readBlankLabel(); err != nil {
		return Term{}, err
	}
	if label, ok := t.bnodes[string(s.tok)]; ok {
		return Blank(label), nil
	}
	b := t.fresh()
	t.bnodes[string(s.tok)] = b.Value
	return b, nil
}

// literal reads a string with an optional language tag or datatype.
func (t *TurtleReader) literal() (Term, error) {
	s := &t.s
	lex, err := s.readString(true, true)
	if err != nil {
		return Term{}, err
	}
	t.ws()
	switch s.peek() {
	case '@':
		tag, err := s.readLangTag()
		if err != nil {
			return Term{}, err
		}
		lang, ok := t.langs[tag]
		if !ok {
			lang = tag
			if len(t.langs) < maxCache {
				t.langs[tag] = tag
			}
		}
		return LangLiteral(lex, lang), nil
	case '^':
		if s.peekAt(1) != '^' {
			return Term{}, s.errorf("expected '^^' before a datatype")
		}
		s.skipN(2)
		t.ws()
		dt, err := t.iri()
		if err != nil {
			return Term{}, err
		}
		return Literal(lex, dt.Value), nil
	}
	return Literal(lex, XSDString), nil
}

// iri reads an IRIREF or a prefixed name.
func (t *TurtleReader) iri() (Term, error) { return t.iriOr("", Term{}, "an IRI") }

// iriOr reads an IRIREF or a prefixed name, or the bare keyword word
// (when not "") standing for term; want names the expectation in errors.
func (t *TurtleReader) iriOr(word string, term Term, want string) (Term, error) {
	s := &t.s
	c := s.peek()
	switch {
	case c == '<':
		return t.iriRef()
	case isNameStart(c):
		line, col := s.line, s.col
		got, colon, err := t.readPName()
		if err != nil {
			return Term{}, err
		}
		if colon {
			return t.expandPName(line, col)
		}
		if word != "" && string(got) == word {
			return term, nil
		}
		if word == "" {
			return Term{}, s.errorAt(line, col, "expected an IRI, found a word without ':'")
		}
		return Term{}, s.errorAt(line, col, "unexpected word %q: expected %s", got, want)
	}
	return Term{}, s.errorf("expected %s, found %s", want, s.describe())
}

// number reads an INTEGER, DECIMAL or DOUBLE, keeping its lexical form.
func (t *TurtleReader) number() (Term, error) {
	s := &t.s
	s.tok = s.tok[:0]
	if c := s.peek(); c == '+' || c == '-' {
		s.tok = append(s.tok, byte(c))
		s.skip()
	}
	intDigits := t.digits()
	dt := XSDInteger
	if s.peek() == '.' {
		switch c := s.peekAt(1); {
		case isDigit(c):
			s.tok = append(s.tok, '.')
			s.skip()
			t.digits()
			dt = XSDDecimal
		case (c == 'e' || c == 'E') && intDigits > 0 && t.exponentAt(1):
			s.tok = append(s.tok, '.')
			s.skip()
		}
	}
	if c := s.peek(); (c == 'e' || c == 'E') && t.exponentAt(0) {
		s.tok = append(s.tok, byte(c))
		s.skip()
		if c := s.peek(); c == '+' || c == '-' {
			s.tok = append(s.tok, byte(c))
			s.skip()
		}
		t.digits()
		dt = XSDDouble
	} else if intDigits == 0 && dt == XSDInteger {
		return Term{}, s.errorf("invalid number: expected a digit, found %s", s.describe())
	}
	return Literal(string(s.tok), dt), nil
}

// exponentAt reports whether an exponent ([eE][+-]?[0-9]) starts n bytes
// ahead.
func (t *TurtleReader) exponentAt(n int) bool {
	c := t.s.peekAt(n + 1)
	if c == '+' || c == '-' {
		c = t.s.peekAt(n + 2)
	}
	return isDigit(c)
}

func (t *TurtleReader) digits() int {
	s := &t.s
	n := 0
	for isDigit(s.peek()) {
		s.tok = append(s.tok, s.buf[s.pos])
		s.skip()
		n++
	}
	return n
}

// isNameStart reports whether c can start a prefixed name or a keyword:
// ':' or the first byte of a PN_CHARS_BASE character.
func isNameStart(c int) bool {
	return c == ':' || isASCIILetter(c) || c >= 0x80
}

// readPName reads a prefixed name or a bare word into tok. For a prefixed
// name, tok holds "prefix:local" with the local name's escapes decoded and
// colon is true; for a bare word, tok holds the word. The returned slice
// aliases tok.
func (t *TurtleReader) readPName() (tok []byte, colon bool, err error) {
	s := &t.s
	s.tok = s.tok[:0]
	if s.peek() != ':' {
		r, n := s.peekRuneAt(0)
		if !IsPNCharsBase(r) {
			return nil, false, s.errorf("unexpected %s", s.describe())
		}
		s.tok = append(s.tok, s.buf[s.pos:s.pos+n]...)
		s.skipN(n)
		for {
			if i := s.asciiRun(&pnCharsASCII); i > s.pos {
				s.take(i)
				continue
			}
			r, n = s.peekRuneAt(0)
			if IsPNChars(r) {
				s.tok = append(s.tok, s.buf[s.pos:s.pos+n]...)
				s.skipN(n)
				continue
			}
			if r != '.' || !s.dotsContinue(IsPNChars) {
				break
			}
			s.tok = append(s.tok, '.')
			s.skip()
		}
		if s.peek() != ':' {
			return s.tok, false, nil
		}
	}
	s.tok = append(s.tok, ':')
	s.skip()
	if err := t.readLocal(); err != nil {
		return nil, false, err
	}
	return s.tok, true, nil
}

// readLocal reads a PN_LOCAL (possibly empty), appending it to tok with
// its \-escapes decoded (percent escapes stay as written).
func (t *TurtleReader) readLocal() error {
	s := &t.s
	first := true
	for {
		if !first || s.peek() != '-' {
			if i := s.asciiRun(&localCharsASCII); i > s.pos {
				s.take(i)
				first = false
				continue
			}
		}
		r, n := s.peekRuneAt(0)
		switch {
		case IsPNChars(r) || r == ':':
			if first && (r == '-' || r == 0xB7 || (r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040) {
				return nil // not PN_CHARS_U, ':' or a digit: the name is empty
			}
			s.tok = append(s.tok, s.buf[s.pos:s.pos+n]...)
			s.skipN(n)
		case r == '%':
			if hexVal(s.peekAt(1)) < 0 || hexVal(s.peekAt(2)) < 0 {
				return s.errorf("invalid percent escape in a local name: want %%XX")
			}
			s.tok = append(s.tok, s.buf[s.pos:s.pos+3]...)
			s.skipN(3)
		case r == '\\':
			c := s.peekAt(1)
			if c < 0 || !strings.ContainsRune(localEscapes, rune(c)) {
				return s.errorf("invalid escape in a local name: only \\ before one of %s is allowed", localEscapes)
			}
			s.tok = append(s.tok, byte(c))
			s.skipN(2)
		case r == '.' && !first:
			if !s.dotsContinue(isLocalContinue) {
				return nil
			}
			s.tok = append(s.tok, '.')
			s.skip()
		default:
			return nil
		}
		first = false
	}
}

// localEscapes are the characters PN_LOCAL_ESC may escape.
const localEscapes = "_~.-!$&'()*+,;=/?#@%"

func isLocalContinue(r rune) bool { return IsPNChars(r) || r == ':' || r == '%' || r == '\\' }

// expandPName turns the prefixed name in tok into an IRI term.
func (t *TurtleReader) expandPName(line, col int) (Term, error) {
	tok := t.s.tok
	if iri, ok := t.pnames[string(tok)]; ok {
		return IRI(iri), nil
	}
	i := bytes.IndexByte(tok, ':')
	ns, ok := t.prefixes[string(tok[:i])]
	if !ok {
		return Term{}, t.s.errorAt(line, col, "undefined prefix %q", tok[:i+1])
	}
	iri := ns + string(tok[i+1:])
	if len(t.pnames) >= maxCache {
		clear(t.pnames)
	}
	t.pnames[string(tok)] = iri
	return IRI(iri), nil
}

// bareLiteral reports whether a literal can be written without quotes and
// read back unchanged: its lexical form matches the Turtle grammar of its
// datatype's short form.
func bareLiteral(l Term) bool {
	switch l.Datatype {
	case XSDBoolean:
		return l.Value == "true" || l.Value == "false"
	case XSDInteger, XSDDecimal, XSDDouble:
		return numberKind(l.Value) == l.Datatype
	}
	return false
}

// numberKind returns the datatype that the Turtle number s denotes, or ""
// if s is not a Turtle number.
func numberKind(s string) string {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(int(s[i])) {
			i++
			n++
		}
		return n
	}
	intDigits := digits()
	fracDigits, dot := 0, false
	if i < len(s) && s[i] == '.' {
		i++
		dot = true
		fracDigits = digits()
	}
	if i == len(s) {
		switch {
		case !dot && intDigits > 0:
			return XSDInteger
		case dot && fracDigits > 0:
			return XSDDecimal
		}
		return ""
	}
	if s[i] != 'e' && s[i] != 'E' || intDigits+fracDigits == 0 {
		return ""
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if digits() == 0 || i != len(s) {
		return ""
	}
	return XSDDouble
}

// validPrefixName reports whether p is a PN_PREFIX (or empty).
func validPrefixName(p string) bool {
	if p == "" {
		return true
	}
	if strings.HasSuffix(p, ".") {
		return false
	}
	for i, r := range p {
		if i == 0 && !IsPNCharsBase(r) || i > 0 && !IsPNChars(r) && r != '.' {
			return false
		}
	}
	return true
}

// validLocalName reports whether s can be written as a PN_LOCAL without
// escapes (percent escapes are kept as they are, so they are allowed).
func validLocalName(s string) bool {
	if s == "" {
		return true
	}
	if s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= 0x80 {
			r, n = decodeRune(s[i:])
		}
		switch {
		case r == '%':
			if i+2 >= len(s) || hexVal(int(s[i+1])) < 0 || hexVal(int(s[i+2])) < 0 {
				return false
			}
			n = 3
		case r == ':' || isDigit(int(r)) || IsPNCharsU(r):
		case i > 0 && (IsPNChars(r) || r == '.'):
		default:
			return false
		}
		i += n
	}
	return true
}
