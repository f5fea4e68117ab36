package rdf

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// SyntaxError reports malformed Turtle, N-Triples or N-Quads. Line and Col
// are 1-based; Col counts characters (not bytes).
type SyntaxError struct {
	Line, Col int
	Msg       string
	// Err is a sentinel the error stands for, if any (ErrTooDeep).
	Err error
}

// Error names the line and column and says what is wrong.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns the sentinel the error stands for, or nil.
func (e *SyntaxError) Unwrap() error { return e.Err }

// scanner is a byte scanner over a reader with the position of the next
// byte (line and column) and the shared lexing of the tokens that Turtle,
// N-Triples and N-Quads have in common. Tokens are built in tok, which the
// next token reuses.
type scanner struct {
	r         io.Reader
	buf       []byte
	pos, end  int
	eof       bool  // no more input after buf[:end]
	rerr      error // a read error other than io.EOF
	line, col int
	tok       []byte
}

const scanBufSize = 64 << 10

func newScanner(r io.Reader) scanner {
	return scanner{r: r, buf: make([]byte, scanBufSize), line: 1, col: 1}
}

// newBytesScanner scans data in place, without copying it.
func newBytesScanner(data []byte) scanner {
	return scanner{buf: data, end: len(data), eof: true, line: 1, col: 1}
}

// more reads more input, keeping buf[pos:end]. It reports whether anything
// was added.
func (s *scanner) more() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.rerr = true, io.ErrNoProgress
	return false
}

// peek returns the next byte, or -1 at the end of the input.
func (s *scanner) peek() int {
	if s.pos < s.end || s.more() {
		return int(s.buf[s.pos])
	}
	return -1
}

// peekAt returns the byte n places ahead, or -1 past the end.
func (s *scanner) peekAt(n int) int {
	for s.pos+n >= s.end {
		if !s.more() {
			return -1
		}
	}
	return int(s.buf[s.pos+n])
}

// peekRuneAt decodes the character starting n bytes ahead. At the end of
// the input it returns (-1, 0); for invalid UTF-8, (badRune, 1).
func (s *scanner) peekRuneAt(n int) (rune, int) {
	for s.end-s.pos-n < utf8.UTFMax && s.more() {
	}
	if s.pos+n >= s.end {
		return -1, 0
	}
	if c := s.buf[s.pos+n]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, size := utf8.DecodeRune(s.buf[s.pos+n : s.end])
	if r == utf8.RuneError && size == 1 {
		return badRune, 1
	}
	return r, size
}

// badRune stands for a byte that is not valid UTF-8.
const badRune = -2

// skip consumes one byte, which must be there.
func (s *scanner) skip() {
	c := s.buf[s.pos]
	s.pos++
	if c == '\n' {
		s.line++
		s.col = 1
	} else if c&0xC0 != 0x80 {
		s.col++
	}
}

// skipN consumes n bytes, which must be there.
func (s *scanner) skipN(n int) {
	for range n {
		s.skip()
	}
}

// asciiRun returns the end of the run of bytes marked in class that starts
// at pos, within the buffered input.
func (s *scanner) asciiRun(class *[256]bool) int {
	i := s.pos
	for i < s.end && class[s.buf[i]] {
		i++
	}
	return i
}

// take consumes buf[pos:i], which holds no newline, into tok.
func (s *scanner) take(i int) {
	for _, c := range s.buf[s.pos:i] {
		if c&0xC0 != 0x80 {
			s.col++
		}
	}
	s.tok = append(s.tok, s.buf[s.pos:i]...)
	s.pos = i
}

// errorf returns a syntax error at the current position, or the read error
// that stopped the scan.
func (s *scanner) errorf(format string, args ...any) error {
	return s.errorAt(s.line, s.col, format, args...)
}

func (s *scanner) errorAt(line, col int, format string, args ...any) error {
	if s.rerr != nil {
		return fmt.Errorf("rdf: reading input: %w", s.rerr)
	}
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// describe names the next character for an error message.
func (s *scanner) describe() string {
	r, _ := s.peekRuneAt(0)
	switch {
	case r < 0:
		return "end of input"
	case r == badRune:
		return "invalid UTF-8"
	}
	return fmt.Sprintf("%q", r)
}

// iriStop marks the bytes that end a run of plain IRI characters: the
// forbidden ones, '>' and '\'.
var iriStop = func() (t [256]bool) {
	for c := 0; c <= 0x20; c++ {
		t[c] = true
	}
	for _, c := range "<>\"{}|^`\\" {
		t[c] = true
	}
	return t
}()

// readIRIRef reads an IRIREF ('<' ... '>') with its escapes decoded, not
// resolved.
func (s *scanner) readIRIRef() (string, error) {
	if err := s.readIRIRefTok(); err != nil {
		return "", err
	}
	return string(s.tok), nil
}

// readIRIRefTok is readIRIRef leaving the IRI in tok.
func (s *scanner) readIRIRefTok() error {
	s.skip() // '<'
	s.tok = s.tok[:0]
	for {
		i := s.pos
		for i < s.end && !iriStop[s.buf[i]] {
			i++
		}
		s.take(i)
		c := s.peek()
		if c >= 0 && !iriStop[c] {
			continue // the buffer was refilled
		}
		switch {
		case c == '>':
			s.skip()
			if !utf8.Valid(s.tok) {
				return s.errorf("invalid UTF-8 in IRI")
			}
			return nil
		case c == '\\':
			r, err := s.readUChar()
			if err != nil {
				return err
			}
			if r <= 0x20 || (r < utf8.RuneSelf && iriStop[r]) {
				return s.errorf("escaped character %q is not allowed in an IRI", r)
			}
			s.tok = utf8.AppendRune(s.tok, r)
		case c < 0:
			return s.errorf("unterminated IRI: missing '>'")
		default:
			return s.errorf("character %q is not allowed in an IRI", rune(c))
		}
	}
}

// readUChar reads a \uXXXX or \UXXXXXXXX escape.
func (s *scanner) readUChar() (rune, error) {
	line, col := s.line, s.col
	n := 0
	switch s.peekAt(1) {
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return 0, s.errorf("invalid escape: only \\uXXXX and \\UXXXXXXXX are allowed here")
	}
	var r rune
	for i := 2; i < 2+n; i++ {
		d := hexVal(s.peekAt(i))
		if d < 0 {
			return 0, s.errorAt(line, col, "invalid \\%c escape: want %d hex digits", s.buf[s.pos+1], n)
		}
		r = r<<4 | rune(d)
	}
	if r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
		return 0, s.errorAt(line, col, "escape \\%c%0*X is not a Unicode character", s.buf[s.pos+1], n, r)
	}
	s.skipN(2 + n)
	return r, nil
}

func hexVal(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

// shortStringStop and longStringStop mark the bytes that end a run of plain
// string characters (besides the quote itself).
var shortStringStop = func() (t [256]bool) {
	t['\\'], t['\n'], t['\r'], t['"'], t['\''] = true, true, true, true, true
	return t
}()

// readString reads a quoted string with its escapes decoded. Long
// (triple-quoted) strings are only allowed when long is true, and single
// quotes only when single is true.
func (s *scanner) readString(long, single bool) (string, error) {
	line, col := s.line, s.col
	q := byte(s.peek())
	if q == '\'' && !single {
		return "", s.errorf("strings must be in double quotes")
	}
	s.tok = s.tok[:0]
	if long && s.peekAt(1) == int(q) && s.peekAt(2) == int(q) {
		s.skipN(3)
		return s.readLongString(q, line, col)
	}
	s.skip()
	for {
		i := s.pos
		for i < s.end && !shortStringStop[s.buf[i]] {
			i++
		}
		s.take(i)
		c := s.peek()
		if c >= 0 && !shortStringStop[c] {
			continue // the buffer was refilled
		}
		switch {
		case c == int(q):
			s.skip()
			return s.stringToken()
		case c == '\\':
			if err := s.readEChar(); err != nil {
				return "", err
			}
		case c == '\n' || c == '\r':
			return "", s.errorf("line break in a string: use \\n, or a long string")
		case c < 0:
			return "", s.errorAt(line, col, "unterminated string")
		default: // the other quote
			s.skip()
			s.tok = append(s.tok, byte(c))
		}
	}
}

func (s *scanner) readLongString(q byte, line, col int) (string, error) {
	for {
		c := s.peek()
		switch {
		case c < 0:
			return "", s.errorAt(line, col, "unterminated long string")
		case c == int(q):
			if s.peekAt(1) == int(q) && s.peekAt(2) == int(q) {
				s.skipN(3)
				return s.stringToken()
			}
			s.skip()
			s.tok = append(s.tok, q)
		case c == '\\':
			if err := s.readEChar(); err != nil {
				return "", err
			}
		case c == '\n':
			s.skip()
			s.tok = append(s.tok, '\n')
		default:
			i := s.pos
			for i < s.end && s.buf[i] != q && s.buf[i] != '\\' && s.buf[i] != '\n' {
				i++
			}
			s.take(i)
		}
	}
}

func (s *scanner) stringToken() (string, error) {
	if !utf8.Valid(s.tok) {
		return "", s.errorf("invalid UTF-8 in string")
	}
	return string(s.tok), nil
}

// readEChar reads a string escape: \t \b \n \r \f \" \' \\ or a UCHAR.
func (s *scanner) readEChar() error {
	var c byte
	switch s.peekAt(1) {
	case 't':
		c = '\t'
	case 'b':
		c = '\b'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 'f':
		c = '\f'
	case '"':
		c = '"'
	case '\'':
		c = '\''
	case '\\':
		c = '\\'
	case 'u', 'U':
		r, err := s.readUChar()
		if err != nil {
			return err
		}
		s.tok = utf8.AppendRune(s.tok, r)
		return nil
	default:
		return s.errorf("invalid escape sequence in string")
	}
	s.skipN(2)
	s.tok = append(s.tok, c)
	return nil
}

// readLangTag reads '@' [a-zA-Z]+ ('-' [a-zA-Z0-9]+)* and returns the tag
// without '@'.
func (s *scanner) readLangTag() (string, error) {
	s.skip() // '@'
	s.tok = s.tok[:0]
	if !isASCIILetter(s.peek()) {
		return "", s.errorf("invalid language tag: must start with a letter")
	}
	for isASCIILetter(s.peek()) {
		s.tok = append(s.tok, s.buf[s.pos])
		s.skip()
	}
	for s.peek() == '-' {
		if c := s.peekAt(1); !isASCIILetter(c) && !isDigit(c) {
			s.skip()
			return "", s.errorf("invalid language tag: empty subtag")
		}
		s.tok = append(s.tok, '-')
		s.skip()
		for c := s.peek(); isASCIILetter(c) || isDigit(c); c = s.peek() {
			s.tok = append(s.tok, byte(c))
			s.skip()
		}
	}
	return string(s.tok), nil
}

// readBlankLabel reads a BLANK_NODE_LABEL ("_:" label) and leaves the label
// in tok.
func (s *scanner) readBlankLabel() error {
	s.skipN(2) // "_:"
	s.tok = s.tok[:0]
	r, n := s.peekRuneAt(0)
	if !IsPNCharsU(r) && !isDigit(int(r)) {
		return s.errorf("invalid blank node label: %s cannot start it", s.describe())
	}
	s.tok = append(s.tok, s.buf[s.pos:s.pos+n]...)
	s.skipN(n)
	for {
		r, n = s.peekRuneAt(0)
		if IsPNChars(r) {
			s.tok = append(s.tok, s.buf[s.pos:s.pos+n]...)
			s.skipN(n)
			continue
		}
		if r != '.' || !s.dotsContinue(IsPNChars) {
			return nil
		}
		s.tok = append(s.tok, '.')
		s.skip()
	}
}

// dotsContinue reports whether the run of '.' at the current position is
// followed by a character for which cont is true: dots may be inside a
// name but cannot end it.
func (s *scanner) dotsContinue(cont func(rune) bool) bool {
	i := 0
	for s.peekAt(i) == '.' {
		i++
	}
	r, _ := s.peekRuneAt(i)
	return cont(r)
}
