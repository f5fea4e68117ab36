package httpsig

// A parser and serializer for the part of RFC 8941 (Structured Field Values
// for HTTP) that Signature-Input, Signature and Content-Digest use:
// dictionaries whose members are items or inner lists, with parameters, and
// every kind of bare item except display strings. The parser follows the
// algorithms of RFC 8941 section 4.2 step by step; anything they reject is an
// error here too.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errSyntax is wrapped by every structured field parse error.
var errSyntax = errors.New("malformed structured field")

// itemKind says which kind of bare item a bareItem holds.
type itemKind uint8

const (
	kindInteger itemKind = iota + 1
	kindDecimal
	kindString
	kindToken
	kindBytes
	kindBoolean
)

// bareItem is an RFC 8941 bare item. A decimal is held exactly as an integer
// number of thousandths.
type bareItem struct {
	kind itemKind
	num  int64  // integer; decimal in thousandths
	str  string // string or token
	raw  []byte // byte sequence
	flag bool   // boolean
}

// param is one parameter of an item or inner list.
type param struct {
	key string
	val bareItem
}

// params are parameters in order; a repeated key keeps its first position
// and takes the last value (RFC 8941 section 4.2.3.2).
type params []param

func (ps params) get(key string) (bareItem, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.val, true
		}
	}
	return bareItem{}, false
}

func (ps *params) set(key string, v bareItem) {
	for i := range *ps {
		if (*ps)[i].key == key {
			(*ps)[i].val = v
			return
		}
	}
	*ps = append(*ps, param{key: key, val: v})
}

// item is a bare item with parameters.
type item struct {
	val    bareItem
	params params
}

// innerList is a parenthesised list of items, with parameters.
type innerList struct {
	items  []item
	params params
}

// member is one dictionary member: an item, or an inner list when isList.
type member struct {
	key    string
	isList bool
	item   item
	list   innerList
}

// dictionary is an ordered RFC 8941 dictionary; a repeated key keeps its
// first position and takes the last value.
type dictionary []member

func (d dictionary) get(key string) (member, bool) {
	for _, m := range d {
		if m.key == key {
			return m, true
		}
	}
	return member{}, false
}

// Bounds from RFC 8941 section 3.3.
const (
	maxIntegerDigits = 15
	maxDecimalInt    = 12
	maxDecimalFrac   = 3
)

// sfParser holds the input and position of one parse.
type sfParser struct {
	s   string
	pos int
}

func (p *sfParser) eof() bool { return p.pos >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *sfParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// parseDictionary parses a whole field value as a dictionary (RFC 8941
// sections 4.2 and 4.2.2).
func parseDictionary(field string) (dictionary, error) {
	p := &sfParser{s: field}
	p.skipSP()
	var d dictionary
	for !p.eof() {
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		m := member{key: key}
		if p.peek() == '=' {
			p.pos++
			if p.peek() == '(' {
				m.isList = true
				m.list, err = p.parseInnerList()
			} else {
				m.item, err = p.parseItem()
			}
		} else {
			m.item.val = bareItem{kind: kindBoolean, flag: true}
			m.item.params, err = p.parseParams()
		}
		if err != nil {
			return nil, err
		}
		d = d.with(m)
		p.skipOWS()
		if p.eof() {
			return d, nil
		}
		if p.peek() != ',' {
			return nil, p.errorf("expected ',' after dictionary member %q", key)
		}
		p.pos++
		p.skipOWS()
		if p.eof() {
			return nil, p.errorf("trailing comma")
		}
	}
	if len(d) == 0 {
		return nil, p.errorf("empty dictionary")
	}
	return d, nil
}

// with sets a member, keeping the first position of a repeated key.
func (d dictionary) with(m member) dictionary {
	for i := range d {
		if d[i].key == m.key {
			d[i] = m
			return d
		}
	}
	return append(d, m)
}

func (p *sfParser) parseInnerList() (innerList, error) {
	var l innerList
	if p.peek() != '(' {
		return l, p.errorf("expected '('")
	}
	p.pos++
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.pos++
			var err error
			l.params, err = p.parseParams()
			return l, err
		}
		it, err := p.parseItem()
		if err != nil {
			return l, err
		}
		l.items = append(l.items, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return l, p.errorf("expected ' ' or ')' in inner list")
		}
	}
	return l, p.errorf("unterminated inner list")
}

func (p *sfParser) parseItem() (item, error) {
	v, err := p.parseBareItem()
	if err != nil {
		return item{}, err
	}
	ps, err := p.parseParams()
	return item{val: v, params: ps}, err
}

func (p *sfParser) parseParams() (params, error) {
	var ps params
	for p.peek() == ';' {
		p.pos++
		p.skipSP()
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		v := bareItem{kind: kindBoolean, flag: true}
		if p.peek() == '=' {
			p.pos++
			if v, err = p.parseBareItem(); err != nil {
				return nil, err
			}
		}
		ps.set(key, v)
	}
	return ps, nil
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }

// isTChar reports whether c is a tchar of RFC 9110 section 5.6.2.
func isTChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *sfParser) parseKey() (string, error) {
	start := p.pos
	if c := p.peek(); !isLCAlpha(c) && c != '*' {
		return "", p.errorf("expected a key")
	}
	for !p.eof() {
		c := p.s[p.pos]
		if !isLCAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}

func (p *sfParser) parseBareItem() (bareItem, error) {
	switch c := p.peek(); {
	case c == '-' || isDigit(c):
		return p.parseNumber()
	case c == '"':
		return p.parseString()
	case c == '*' || isAlpha(c):
		return p.parseToken(), nil
	case c == ':':
		return p.parseBytes()
	case c == '?':
		return p.parseBoolean()
	}
	return bareItem{}, p.errorf("expected an item")
}

func (p *sfParser) parseNumber() (bareItem, error) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.pos++
	}
	if !isDigit(p.peek()) {
		return bareItem{}, p.errorf("expected a digit")
	}
	start, dot := p.pos, -1
	for !p.eof() {
		c := p.s[p.pos]
		if c == '.' && dot < 0 {
			if p.pos-start > maxDecimalInt {
				return bareItem{}, p.errorf("decimal has too many integer digits")
			}
			dot = p.pos
		} else if !isDigit(c) {
			break
		}
		p.pos++
		if dot < 0 && p.pos-start > maxIntegerDigits {
			return bareItem{}, p.errorf("integer has too many digits")
		}
		if dot >= 0 && p.pos-start > 16 {
			return bareItem{}, p.errorf("decimal is too long")
		}
	}
	if dot < 0 {
		n, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
		if err != nil {
			return bareItem{}, p.errorf("bad integer")
		}
		if neg {
			n = -n
		}
		return bareItem{kind: kindInteger, num: n}, nil
	}
	frac := p.s[dot+1 : p.pos]
	if len(frac) == 0 || len(frac) > maxDecimalFrac {
		return bareItem{}, p.errorf("decimal needs 1 to 3 fractional digits")
	}
	whole, err1 := strconv.ParseInt(p.s[start:dot], 10, 64)
	f, err2 := strconv.ParseInt(frac+strings.Repeat("0", maxDecimalFrac-len(frac)), 10, 64)
	if err1 != nil || err2 != nil {
		return bareItem{}, p.errorf("bad decimal")
	}
	n := whole*1000 + f
	if neg {
		n = -n
	}
	return bareItem{kind: kindDecimal, num: n}, nil
}

func (p *sfParser) parseString() (bareItem, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\':
			if p.eof() {
				return bareItem{}, p.errorf("unterminated escape")
			}
			next := p.s[p.pos]
			if next != '"' && next != '\\' {
				return bareItem{}, p.errorf("bad escape")
			}
			b.WriteByte(next)
			p.pos++
		case c == '"':
			return bareItem{kind: kindString, str: b.String()}, nil
		case c < 0x20 || c > 0x7e:
			return bareItem{}, p.errorf("string has a byte outside printable ASCII")
		default:
			b.WriteByte(c)
		}
	}
	return bareItem{}, p.errorf("unterminated string")
}

func (p *sfParser) parseToken() bareItem {
	start := p.pos
	p.pos++
	for !p.eof() {
		c := p.s[p.pos]
		if !isTChar(c) && c != ':' && c != '/' {
			break
		}
		p.pos++
	}
	return bareItem{kind: kindToken, str: p.s[start:p.pos]}
}

func (p *sfParser) parseBytes() (bareItem, error) {
	p.pos++ // opening colon
	end := strings.IndexByte(p.s[p.pos:], ':')
	if end < 0 {
		return bareItem{}, p.errorf("unterminated byte sequence")
	}
	text := p.s[p.pos : p.pos+end]
	for i := 0; i < len(text); i++ {
		if c := text[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return bareItem{}, p.errorf("byte sequence has a character outside base64")
		}
	}
	p.pos += end + 1
	// RFC 8941 section 4.2.7: parsers should accept missing padding.
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return bareItem{}, p.errorf("bad base64 in byte sequence")
	}
	return bareItem{kind: kindBytes, raw: raw}, nil
}

func (p *sfParser) parseBoolean() (bareItem, error) {
	p.pos++ // '?'
	switch p.peek() {
	case '1':
		p.pos++
		return bareItem{kind: kindBoolean, flag: true}, nil
	case '0':
		p.pos++
		return bareItem{kind: kindBoolean, flag: false}, nil
	}
	return bareItem{}, p.errorf("expected ?0 or ?1")
}
