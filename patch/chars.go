package patch

// Character classes of the Turtle and SPARQL grammars.

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool  { return isLetter(c) || isDigit(c) }

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isPNCharsBase is PN_CHARS_BASE.
func isPNCharsBase(r rune) bool {
	if r < 0x80 {
		return isLetter(byte(r))
	}
	return (r >= 0xC0 && r <= 0xD6) || (r >= 0xD8 && r <= 0xF6) || (r >= 0xF8 && r <= 0x2FF) ||
		(r >= 0x370 && r <= 0x37D) || (r >= 0x37F && r <= 0x1FFF) || (r >= 0x200C && r <= 0x200D) ||
		(r >= 0x2070 && r <= 0x218F) || (r >= 0x2C00 && r <= 0x2FEF) || (r >= 0x3001 && r <= 0xD7FF) ||
		(r >= 0xF900 && r <= 0xFDCF) || (r >= 0xFDF0 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0xEFFFF)
}

// isPNCharsU is PN_CHARS_U: PN_CHARS_BASE or '_'.
func isPNCharsU(r rune) bool { return r == '_' || isPNCharsBase(r) }

// isPNChars is PN_CHARS.
func isPNChars(r rune) bool {
	return isPNCharsU(r) || r == '-' || (r >= '0' && r <= '9') || r == 0xB7 ||
		(r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040
}

// isVarChar is a character of SPARQL's VARNAME (PN_CHARS without '-').
func isVarChar(r rune) bool { return r != '-' && isPNChars(r) }
