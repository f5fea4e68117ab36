package patch

import (
	"strings"
	"unicode/utf8"

	"podserver/rdf"
)

// The lexer splits an N3 Patch or SPARQL Update document into tokens. Both
// languages share Turtle's terms; on top of them N3 has formulae in braces
// and SPARQL has keywords, and both have variables. The lexer knows nothing
// of grammar: it yields every punctuation character it meets, including the
// ones of constructs we do not support (property paths, N3 rules), so that
// the parsers can name what is not supported.

// tokKind says what a token is.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tIRI             // <...>: val is the unescaped reference, not yet resolved
	tPName           // prefix:local: val is the prefix, local the unescaped local name
	tBlank           // _:label: val is the label
	tVar             // ?name or $name: val is the name
	tString          // a quoted string: val is the unescaped lexical form
	tLang            // @word: a language tag or an N3 keyword such as @prefix
	tInteger         // val is the lexical form
	tDecimal         // val is the lexical form
	tDouble          // val is the lexical form
	tWord            // a bare name: a, true, false, PREFIX, INSERT, ...
	tPunct           // val is the punctuation: { } [ ] ( ) . ; , ^^ and others
)

// token is one lexical token with the position of its first character.
type token struct {
	kind       tokKind
	val, local string
	line, col  int
}

// String describes the token for error messages.
func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIRI:
		return "<" + clip(t.val) + ">"
	case tPName:
		return clip(t.val + ":" + t.local)
	case tBlank:
		return "_:" + clip(t.val)
	case tVar:
		return "?" + clip(t.val)
	case tString:
		return "string literal"
	case tLang:
		return "@" + clip(t.val)
	case tPunct:
		return "'" + t.val + "'"
	}
	return clip(t.val)
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// lexer is the tokenizer's state: the document, the offset of the next
// byte and the line and column (in characters) of that byte.
type lexer struct {
	src       string
	pos       int
	line, col int
	sparql    bool // $name is a variable too
}

func newLexer(src string, sparql bool) lexer {
	return lexer{src: src, line: 1, col: 1, sparql: sparql}
}

// adv moves n bytes on, keeping line and column.
func (l *lexer) adv(n int) {
	end := l.pos + n
	for i := l.pos; i < end; i++ {
		switch c := l.src[i]; {
		case c == '\n':
			l.line, l.col = l.line+1, 1
		case c == '\r':
			if i+1 < len(l.src) && l.src[i+1] == '\n' {
				continue // the \n ends the line
			}
			l.line, l.col = l.line+1, 1
		case utf8.RuneStart(c):
			l.col++
		}
	}
	l.pos = end
}

// errAt returns a Malformed error at byte offset i (at or after l.pos).
func (l *lexer) errAt(i int, format string, args ...any) *Error {
	l.adv(i - l.pos)
	return malformedAt(l.line, l.col, format, args...)
}

func (l *lexer) at(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.adv(1)
		case '#':
			i := l.pos
			for i < len(l.src) && l.src[i] != '\n' && l.src[i] != '\r' {
				i++
			}
			l.adv(i - l.pos)
		default:
			return
		}
	}
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	l.skipSpace()
	t := token{line: l.line, col: l.col}
	if l.pos >= len(l.src) {
		return t, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '<':
		return l.iri(t)
	case c == '"' || c == '\'':
		return l.str(t)
	case c == '_' && l.at(l.pos+1) == ':':
		return l.blank(t)
	case c == '?' || (c == '$' && l.sparql):
		return l.variable(t)
	case c == '@':
		return l.atWord(t)
	case isDigit(c) || c == '+' || c == '-' || c == '.':
		return l.number(t)
	case c == ':':
		return l.pname(t, l.pos)
	case c == '^' && l.at(l.pos+1) == '^', c == '=' && l.at(l.pos+1) == '>':
		return l.punct(t, 2), nil
	case strings.IndexByte("{}[]();,=|/!*^&>", c) >= 0:
		return l.punct(t, 1), nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if rdf.IsPNCharsBase(r) {
		return l.name(t)
	}
	return t, l.errAt(l.pos, msgBadChar, r)
}

func (l *lexer) punct(t token, n int) token {
	t.kind, t.val = tPunct, l.src[l.pos:l.pos+n]
	l.adv(n)
	return t
}

// iri reads <...>, or the N3 operator <= and a lone <.
func (l *lexer) iri(t token) (token, error) {
	var b strings.Builder
	i := l.pos + 1
	for {
		if i >= len(l.src) {
			break
		}
		c := l.src[i]
		switch {
		case c == '>':
			t.kind, t.val = tIRI, b.String()
			l.adv(i + 1 - l.pos)
			return t, nil
		case c == '\\':
			r, n, err := l.uchar(i)
			if err != nil {
				return t, err
			}
			b.WriteRune(r)
			i += n
			continue
		case c <= ' ' || strings.IndexByte("<\"{}|^`", c) >= 0:
			i = len(l.src) // not an IRI
			continue
		}
		b.WriteByte(c)
		i++
	}
	if l.at(l.pos+1) == '=' {
		return l.punct(t, 2), nil
	}
	if l.sparql {
		return l.punct(t, 1), nil // a comparison in an unsupported FILTER
	}
	return t, l.errAt(l.pos, msgBadIRI)
}

// uchar reads \uXXXX or \UXXXXXXXX at i, giving the rune and its length.
func (l *lexer) uchar(i int) (rune, int, error) {
	n := 0
	switch l.at(i + 1) {
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return 0, 0, l.errAt(i, msgBadEscape)
	}
	var r rune
	for k := range n {
		h := hexVal(l.at(i + 2 + k))
		if h < 0 {
			return 0, 0, l.errAt(i, msgBadEscape)
		}
		r = r<<4 | rune(h)
	}
	if !utf8.ValidRune(r) {
		return 0, 0, l.errAt(i, msgBadEscape)
	}
	return r, n + 2, nil
}

// str reads a short or long string with either quote.
func (l *lexer) str(t token) (token, error) {
	q := l.src[l.pos]
	long := l.at(l.pos+1) == q && l.at(l.pos+2) == q
	i := l.pos + 1
	if long {
		i = l.pos + 3
	}
	var b strings.Builder
	for {
		if i >= len(l.src) {
			return t, l.errAt(l.pos, msgBadString)
		}
		c := l.src[i]
		switch {
		case c == q && !long:
			t.kind, t.val = tString, b.String()
			l.adv(i + 1 - l.pos)
			return t, nil
		case c == q && l.at(i+1) == q && l.at(i+2) == q:
			t.kind, t.val = tString, b.String()
			l.adv(i + 3 - l.pos)
			return t, nil
		case (c == '\n' || c == '\r') && !long:
			return t, l.errAt(i, msgBadString)
		case c == '\\':
			if e := echar(l.at(i + 1)); e != 0 {
				b.WriteByte(e)
				i += 2
				continue
			}
			r, n, err := l.uchar(i)
			if err != nil {
				return t, err
			}
			b.WriteRune(r)
			i += n
			continue
		}
		b.WriteByte(c)
		i++
	}
}

// echar gives the character escaped by \c, or 0.
func echar(c byte) byte {
	switch c {
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 'f':
		return '\f'
	case '"', '\'', '\\':
		return c
	}
	return 0
}

// blank reads _:label.
func (l *lexer) blank(t token) (token, error) {
	start := l.pos + 2
	r, n := utf8.DecodeRuneInString(l.src[start:])
	if n == 0 || (!rdf.IsPNCharsU(r) && !(r >= '0' && r <= '9')) {
		return t, l.errAt(start, msgBadName)
	}
	end := l.dotted(start+n, rdf.IsPNChars)
	t.kind, t.val = tBlank, l.src[start:end]
	l.adv(end - l.pos)
	return t, nil
}

// dotted returns the end of a run of characters in class cont, with dots
// allowed inside but not at the end, from offset i.
func (l *lexer) dotted(i int, cont func(rune) bool) int {
	end := i
	for i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[i:])
		if r == '.' {
			i += n
			continue
		}
		if !cont(r) {
			break
		}
		i += n
		end = i
	}
	return end
}

// variable reads ?name or $name; a ? with no name is punctuation (a
// property path operator).
func (l *lexer) variable(t token) (token, error) {
	start := l.pos + 1
	i := start
	for i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[i:])
		if !isVarChar(r) || (i == start && !rdf.IsPNCharsU(r) && !(r >= '0' && r <= '9')) {
			break
		}
		i += n
	}
	if i == start {
		if l.src[l.pos] == '?' {
			return l.punct(t, 1), nil
		}
		return t, l.errAt(start, msgBadName)
	}
	t.kind, t.val = tVar, l.src[start:i]
	l.adv(i - l.pos)
	return t, nil
}

// atWord reads @ followed by a language tag (which also covers @prefix).
func (l *lexer) atWord(t token) (token, error) {
	i := l.pos + 1
	for isLetter(l.at(i)) {
		i++
	}
	if i == l.pos+1 {
		return t, l.errAt(i, msgBadName)
	}
	for l.at(i) == '-' && isAlnum(l.at(i+1)) {
		i++
		for isAlnum(l.at(i)) {
			i++
		}
	}
	t.kind, t.val = tLang, l.src[l.pos+1:i]
	l.adv(i - l.pos)
	return t, nil
}

// number reads an integer, decimal or double; a sign or dot that starts
// no number is punctuation.
func (l *lexer) number(t token) (token, error) {
	i := l.pos
	if c := l.src[i]; c == '+' || c == '-' {
		i++
	}
	intDigits := digits(l.src, i)
	i += intDigits
	kind := tInteger
	switch {
	case l.at(i) == '.' && isDigit(l.at(i+1)):
		i++
		i += digits(l.src, i)
		kind = tDecimal
	case l.at(i) == '.' && intDigits > 0 && exponent(l.src, i+1) > 0:
		i++
		kind = tDecimal
	}
	if intDigits == 0 && kind == tInteger {
		return l.punct(t, 1), nil
	}
	if n := exponent(l.src, i); n > 0 {
		i += n
		kind = tDouble
	}
	t.kind, t.val = kind, l.src[l.pos:i]
	l.adv(i - l.pos)
	return t, nil
}

func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// exponent returns the length of an exponent ([eE][+-]?[0-9]+) at i, or 0.
func exponent(s string, i int) int {
	if i >= len(s) || (s[i] != 'e' && s[i] != 'E') {
		return 0
	}
	j := i + 1
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	n := digits(s, j)
	if n == 0 {
		return 0
	}
	return j + n - i
}

// name reads a bare word or, when a colon follows, a prefixed name.
func (l *lexer) name(t token) (token, error) {
	greedy := l.pos
	for greedy < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[greedy:])
		if r != '.' && !rdf.IsPNChars(r) {
			break
		}
		greedy += n
	}
	if l.at(greedy) == ':' && l.src[greedy-1] != '.' {
		return l.pname(t, greedy)
	}
	end := l.dotted(l.pos, rdf.IsPNChars)
	t.kind, t.val = tWord, l.src[l.pos:end]
	l.adv(end - l.pos)
	return t, nil
}

// pname reads the local part of a prefixed name whose colon is at offset
// colon (the prefix runs from l.pos to colon).
func (l *lexer) pname(t token, colon int) (token, error) {
	var b strings.Builder
	i := colon + 1
	end, keep := i, 0
	for first := true; i < len(l.src); first = false {
		r, n := utf8.DecodeRuneInString(l.src[i:])
		switch {
		case r == '%':
			if hexVal(l.at(i+1)) < 0 || hexVal(l.at(i+2)) < 0 {
				return t, l.errAt(i, msgBadEscape)
			}
			n = 3
			b.WriteString(l.src[i : i+3])
		case r == '\\':
			c := l.at(i + 1)
			if c == 0 || strings.IndexByte(localEscapes, c) < 0 {
				return t, l.errAt(i, msgBadEscape)
			}
			n = 2
			b.WriteByte(c)
		case r == '.' && !first:
			b.WriteByte('.')
			i += n
			continue // a name may not end with a dot
		case r == ':' || rdf.IsPNCharsU(r) || (r >= '0' && r <= '9') || (!first && rdf.IsPNChars(r)):
			b.WriteString(l.src[i : i+n])
		default:
			i = len(l.src)
			continue
		}
		i += n
		end, keep = i, b.Len()
	}
	t.kind, t.val, t.local = tPName, l.src[l.pos:colon], b.String()[:keep]
	l.adv(end - l.pos)
	return t, nil
}

// localEscapes are the characters a local name may escape with \.
const localEscapes = "_~.-!$&'()*+,;=/?#@%"
