package patch

import "podserver/rdf"

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

// isVarChar is a character of SPARQL's VARNAME (PN_CHARS without '-').
func isVarChar(r rune) bool { return r != '-' && rdf.IsPNChars(r) }
