package rdf

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789ABCDEF"

// appendIRIRef appends <iri>. An IRI cannot hold spaces, control
// characters or any of <>"{}|^`\ (not even escaped: readers reject them),
// so those are percent-encoded, and invalid UTF-8 becomes U+FFFD; valid
// IRIs are written as they are.
func appendIRIRef(b []byte, iri string) []byte {
	b = append(b, '<')
	b = appendIRIChars(b, iri)
	return append(b, '>')
}

// appendIRIRefUChar appends <iri> with the characters appendIRIRef
// percent-encodes written as \u escapes instead: not valid N-Triples for
// strict readers, but json-gold's N-Quads reader reads it back unchanged,
// which is what datasetOfSet needs.
func appendIRIRefUChar(b []byte, iri string) []byte {
	b = append(b, '<')
	start := 0
	for i := 0; i < len(iri); i++ {
		if c := iri[i]; c < utf8.RuneSelf && iriStop[c] {
			b = append(b, iri[start:i]...)
			b = appendUChar(b, rune(c))
			start = i + 1
		}
	}
	b = append(b, iri[start:]...)
	return append(b, '>')
}

func appendIRIChars(b []byte, iri string) []byte {
	start := 0
	for i := 0; i < len(iri); {
		c := iri[i]
		if c < utf8.RuneSelf {
			if iriStop[c] {
				b = append(b, iri[start:i]...)
				b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xF])
				start = i + 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(iri[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, iri[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
			start = i + 1
		}
		i += n
	}
	return append(b, iri[start:]...)
}

func appendUChar(b []byte, r rune) []byte {
	if r > 0xFFFF {
		b = append(b, `\U`...)
		for shift := 28; shift >= 0; shift -= 4 {
			b = append(b, hexDigits[(r>>shift)&0xF])
		}
		return b
	}
	b = append(b, `\u`...)
	for shift := 12; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(r>>shift)&0xF])
	}
	return b
}

// appendQuoted appends s as a double-quoted string. A long string ("""...""")
// keeps its line breaks; a short one escapes them. Quotes, backslashes,
// carriage returns and other control characters are escaped; invalid UTF-8
// becomes \uFFFD.
func appendQuoted(b []byte, s string, long bool) []byte {
	if long {
		b = append(b, `"""`...)
	} else {
		b = append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7F {
			if c < utf8.RuneSelf {
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n > 1 {
				i += n
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			if long {
				b = append(b, '\n')
			} else {
				b = append(b, `\n`...)
			}
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c < 0x20 || c == 0x7F {
				b = appendUChar(b, rune(c))
			} else {
				b = appendUChar(b, utf8.RuneError)
			}
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	if long {
		return append(b, `"""`...)
	}
	return append(b, '"')
}

func itoa(n int) string { return strconv.Itoa(n) }

// byteWriter collects output in a buffer and writes it in large pieces.
type byteWriter struct {
	w   io.Writer
	buf []byte
}

const writeChunk = 32 << 10

func newByteWriter(w io.Writer) *byteWriter {
	return &byteWriter{w: w, buf: make([]byte, 0, writeChunk+4096)}
}

// flushIfFull writes the buffer once it has a chunk's worth.
func (bw *byteWriter) flushIfFull() error {
	if len(bw.buf) < writeChunk {
		return nil
	}
	return bw.flush()
}

func (bw *byteWriter) flush() error {
	if len(bw.buf) == 0 {
		return nil
	}
	_, err := bw.w.Write(bw.buf)
	bw.buf = bw.buf[:0]
	if err != nil {
		return fmt.Errorf("rdf: writing: %w", err)
	}
	return nil
}
