package rdf

import "unicode/utf8"

// Character classes of the Turtle grammar, shared by the readers and the
// writers.

func isASCIILetter(c int) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isDigit(c int) bool { return c >= '0' && c <= '9' }

// pnCharsASCII marks the ASCII characters of PN_CHARS; localCharsASCII
// adds ':', which a local name may hold anywhere. They let names be read a
// run of bytes at a time.
var pnCharsASCII, localCharsASCII = func() (pn, local [256]bool) {
	for c := 0; c < 128; c++ {
		pn[c] = isASCIILetter(c) || isDigit(c) || c == '_' || c == '-'
		local[c] = pn[c] || c == ':'
	}
	return pn, local
}()

// IsPNCharsBase is PN_CHARS_BASE of the Turtle grammar.
func IsPNCharsBase(r rune) bool {
	if r < 0x80 {
		return r >= 0 && isASCIILetter(int(r))
	}
	return (r >= 0xC0 && r <= 0xD6) || (r >= 0xD8 && r <= 0xF6) || (r >= 0xF8 && r <= 0x2FF) ||
		(r >= 0x370 && r <= 0x37D) || (r >= 0x37F && r <= 0x1FFF) || (r >= 0x200C && r <= 0x200D) ||
		(r >= 0x2070 && r <= 0x218F) || (r >= 0x2C00 && r <= 0x2FEF) || (r >= 0x3001 && r <= 0xD7FF) ||
		(r >= 0xF900 && r <= 0xFDCF) || (r >= 0xFDF0 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0xEFFFF)
}

// IsPNCharsU is PN_CHARS_U: PN_CHARS_BASE or '_'.
func IsPNCharsU(r rune) bool { return r == '_' || IsPNCharsBase(r) }

// IsPNChars is PN_CHARS.
func IsPNChars(r rune) bool {
	return IsPNCharsU(r) || r == '-' || (r >= '0' && r <= '9') || r == 0xB7 ||
		(r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040
}

// decodeRune decodes the first character of s, giving badRune for invalid
// UTF-8.
func decodeRune(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		return badRune, 1
	}
	return r, n
}
