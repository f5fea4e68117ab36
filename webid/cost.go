package webid

// The cost of reading a profile document. A document's bytes do not bound
// what parsing it builds: in Turtle a short prefixed name expands to its
// namespace, which may be as long as the document, and a collection makes
// two triples of every element; in JSON-LD a compact IRI or a term expands
// by its context, and json-gold builds maps per value. So before a
// document is parsed, a scan of its tokens, linear and allocating little,
// gives upper bounds on what the parse can produce: its terms (each makes
// at most two triples), the bytes of their expanded strings, the nesting
// depth and, in JSON-LD, the contexts to process. A document over any
// bound is refused unparsed.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defaults of the Options bounding parse cost.
const (
	DefaultMaxProfileTerms = 4096
	DefaultMaxExpandedSize = 1 << 20
	DefaultMaxNesting      = 32
	DefaultMaxContexts     = 4
)

// builtinIRISlack bounds how much a term defined by one of rdf's built-in
// remote contexts adds when it expands (their IRIs are all shorter).
const builtinIRISlack = 512

// blankCost is what a fresh blank node label costs.
const blankCost = 24

// costLimits are the bounds a document must stay within to be parsed.
type costLimits struct {
	terms    int
	expanded int64
	nesting  int
	contexts int
}

// cost is what a scan found: upper bounds of the parse output.
type cost struct {
	terms    int
	expanded int64
	nesting  int
	contexts int
}

// errTooCostly is wrapped (in an ErrMalformedProfile) when a document is
// over a bound.
var errTooCostly = errors.New("document too costly to read")

// check returns an error wrapping errTooCostly when c is over a limit.
func (c cost) check(l costLimits) error {
	switch {
	case c.terms > l.terms:
		return fmt.Errorf("%w: more than %d terms", errTooCostly, l.terms)
	case c.expanded > l.expanded:
		return fmt.Errorf("%w: its terms may expand to %d bytes, more than %d", errTooCostly, c.expanded, l.expanded)
	case c.nesting > l.nesting:
		return fmt.Errorf("%w: nested more than %d deep", errTooCostly, l.nesting)
	case c.contexts > l.contexts:
		return fmt.Errorf("%w: more than %d JSON-LD contexts", errTooCostly, l.contexts)
	}
	return nil
}

// turtleCost scans a Turtle document. It does not check the syntax: every
// maximal run of characters that are not white space or delimiters counts
// as a term (prefixed names, keywords, numbers, blank node labels,
// directives), as does every IRI, string, '[' and '('. A prefixed name
// expands to at most its namespace, which is an IRI of the document
// resolved against base, plus itself.
func turtleCost(doc []byte, base string) cost {
	var c cost
	var words, wordBytes, iris, iriBytes, maxIRI int64
	depth := 0
	for i := 0; i < len(doc); {
		switch b := doc[i]; {
		case b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == ',' || b == ';':
			i++
		case b == '#':
			for i < len(doc) && doc[i] != '\n' && doc[i] != '\r' {
				i++
			}
		case b == '<':
			j := i + 1
			for j < len(doc) && doc[j] != '>' {
				j++
			}
			n := int64(j - i)
			iris++
			iriBytes += n
			maxIRI = max(maxIRI, n)
			i = j + 1
		case b == '"' || b == '\'':
			j := skipTurtleString(doc, i)
			c.terms++
			c.expanded += int64(j - i)
			i = j
		case b == '[' || b == '(':
			c.terms++
			depth++
			c.nesting = max(c.nesting, depth)
			i++
		case b == ']' || b == ')':
			depth = max(depth-1, 0)
			i++
		default:
			j := i
			for j < len(doc) && !isTurtleDelimiter(doc[j]) {
				j++
			}
			if j == i {
				j++ // a lone delimiter not handled above, such as '>'
			}
			words++
			wordBytes += int64(j - i)
			i = j
		}
	}
	baseLen := int64(len(base))
	c.terms += int(words + iris)
	c.expanded += iriBytes + iris*baseLen + wordBytes + words*(maxIRI+baseLen)
	c.expanded += int64(c.terms) * blankCost // a term in a collection makes a blank node
	return c
}

// isTurtleDelimiter reports whether b ends a run of name characters.
func isTurtleDelimiter(b byte) bool {
	switch b {
	case ' ', '\t', '\r', '\n', ',', ';', '#', '<', '>', '"', '\'', '[', ']', '(', ')':
		return true
	}
	return false
}

// skipTurtleString returns the index after the string literal starting at
// doc[i] (short or long, either quote), or len(doc) when it does not end.
func skipTurtleString(doc []byte, i int) int {
	q := doc[i]
	long := bytes.HasPrefix(doc[i:], []byte{q, q, q})
	j := i + 1
	if long {
		j = i + 3
	}
	for j < len(doc) {
		switch {
		case doc[j] == '\\':
			j += 2
		case long && bytes.HasPrefix(doc[j:], []byte{q, q, q}):
			return j + 3
		case !long && doc[j] == q:
			return j + 1
		case !long && (doc[j] == '\n' || doc[j] == '\r'):
			return j // unterminated: the parser fails here
		default:
			j++
		}
	}
	return len(doc)
}

// jsonldCost scans a JSON-LD document. Every key and scalar outside
// contexts counts as a term, which may expand by every string of the
// document's own contexts together (a chain of terms and prefixes), plus
// base and the longest IRI of a built-in context. Every "@context" member
// counts as a context, wherever it is. A document that is not JSON fails
// with the decoder's error.
//
// The scan stops early, with the terms counted so far, once they are more
// than maxTerms (when positive): the document is refused anyway.
func jsonldCost(doc []byte, base string, maxTerms int) (cost, error) {
	var c cost
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	// Per open container: whether it is (within) a context, and for
	// objects whether the next token is a key.
	type frame struct {
		ctx       bool
		object    bool
		expectKey bool
	}
	var stack []frame
	var ctxBytes, outside, outsideBytes int64
	nextIsCtx := false // the value being read is the value of "@context"
	for {
		if maxTerms > 0 && outside > int64(maxTerms) {
			break
		}
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, err
		}
		inCtx := nextIsCtx || (len(stack) > 0 && stack[len(stack)-1].ctx)
		isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].expectKey
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = !stack[len(stack)-1].expectKey
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{ctx: inCtx, object: t == '{', expectKey: t == '{'})
				c.nesting = max(c.nesting, len(stack))
				if !inCtx {
					outside++ // a node or list json-gold makes
				}
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					// The container was a member value: undo the flip
					// its closing delimiter caused.
					stack[len(stack)-1].expectKey = true
				}
			}
			nextIsCtx = false
			continue
		case string:
			if isKey && t == "@context" {
				c.contexts++
			}
			if inCtx {
				ctxBytes += int64(len(t))
			} else {
				outside++
				outsideBytes += int64(len(t))
			}
			if isKey {
				nextIsCtx = t == "@context"
				continue
			}
		default:
			if !inCtx {
				outside++
				outsideBytes += 8
			}
		}
		nextIsCtx = false
	}
	c.terms = int(outside)
	c.expanded = outsideBytes + outside*(ctxBytes+int64(len(base))+builtinIRISlack+blankCost)
	return c, nil
}

// mediaTypeIsJSON reports whether a Content-Type names JSON-LD or JSON.
func mediaTypeIsJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/ld+json" || mt == "application/json"
}
