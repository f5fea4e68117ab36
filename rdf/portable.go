package rdf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
)

// What a JSON-LD document names as its context decides whether anyone but
// podserver can read it. Stored documents name ContextURI (or nothing: plain
// JSON is read with podserver's context), which only the binary knows, so
// the server rewrites the context reference on the way out, and only it:
// the rest of the document goes out byte for byte, and the graph is the
// one the stored document has for podserver.
//
//   - Portable, for HTTP responses: ContextURI becomes the server's
//     ContextURL, which it serves; a document without a top-level context
//     gets that URL as one.
//   - PortableInline, for copies sent to other servers: the same, with the
//     context inline, so the receiver needs no fetch (podserver or not).

// InlineContext returns podserver's context as a JSON object (the
// "@context" member of ContextDocument), compact, for a document to carry
// inline.
func InlineContext() []byte { return inlineContext() }

var inlineContext = sync.OnceValue(func() []byte {
	var doc struct {
		Context json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal([]byte(podserverContextDoc), &doc); err != nil {
		panic("rdf: built-in context is not JSON: " + err.Error())
	}
	var b bytes.Buffer
	if err := json.Compact(&b, doc.Context); err != nil {
		panic("rdf: built-in context is not JSON: " + err.Error())
	}
	return b.Bytes()
})

// Portable returns doc, a stored JSON-LD document, as a JSON-LD processor
// outside podserver can read it: every context reference naming ContextURI
// (in a top-level or embedded "@context", alone or in an array, and as an
// "@import") is replaced by contextURL, the server's ContextURL; a document
// with no top-level context gets contextURL as its context (an object
// first, an array wrapped as {"@context": ..., "@graph": [...]}). doc is
// returned unchanged when nothing needs to change, and when it is not
// JSON.
func Portable(doc []byte, contextURL string) []byte {
	return rewriteContext(doc, strconv.AppendQuote(nil, contextURL), true)
}

// PortableInline is Portable with podserver's context inline
// (InlineContext) instead of a URL, for documents sent to other servers.
// An "@import" of ContextURI is left as it is (it must name a URL; every
// podserver knows it).
func PortableInline(doc []byte) []byte {
	return rewriteContext(doc, InlineContext(), false)
}

// IsPodserverContext reports whether raw, the JSON value of a top-level
// "@context", is podserver's context: ContextURI, a ContextURL (of any
// server), or InlineContext as PortableInline writes it.
func IsPodserverContext(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		if c, ok := knownContext(s); ok && c == ContextURI {
			return true
		}
		_, ok := localContext(s, s)
		return ok
	}
	var b bytes.Buffer
	return json.Compact(&b, raw) == nil && bytes.Equal(b.Bytes(), InlineContext())
}

// span is a part of a document to replace.
type span struct{ start, end int64 }

// rewriteContext implements Portable: references to ContextURI become
// with (a JSON value); imports also do when importToo.
func rewriteContext(doc []byte, with []byte, importToo bool) []byte {
	spans, topContext, first, ok := contextRefs(doc, importToo)
	if !ok {
		return doc
	}
	if len(spans) == 0 && topContext {
		return doc
	}
	out := make([]byte, 0, len(doc)+len(with)*(len(spans)+1)+32)
	if !topContext {
		switch doc[first] {
		case '{':
			out = append(out, doc[:first+1]...)
			out = append(out, `"@context":`...)
			out = append(out, with...)
			if rest := bytes.TrimLeft(doc[first+1:], " \t\r\n"); len(rest) == 0 || rest[0] != '}' {
				out = append(out, ',')
			}
			doc = doc[first+1:]
			for i := range spans {
				spans[i].start -= int64(first + 1)
				spans[i].end -= int64(first + 1)
			}
		case '[':
			out = append(out, `{"@context":`...)
			out = append(out, with...)
			out = append(out, `,"@graph":`...)
			out = appendReplaced(out, doc, spans, with)
			return append(out, '}')
		}
	}
	return appendReplaced(out, doc, spans, with)
}

func appendReplaced(out, doc []byte, spans []span, with []byte) []byte {
	at := int64(0)
	for _, s := range spans {
		out = append(out, doc[at:s.start]...)
		out = append(out, with...)
		at = s.end
	}
	return append(out, doc[at:]...)
}

// frame is an open JSON object or array during contextRefs' walk.
type frame struct {
	object bool
	// inContext: this is the "@context" value (an array or object).
	inContext bool
	key       string // object: the member whose value comes next
	expectKey bool
}

// contextRefs finds, in doc, the string values naming ContextURI that are
// context references, whether the top level (an object, or any object of
// a top-level array) declares a context, and where the top-level value
// starts. ok is false when doc is not a JSON object or array.
func contextRefs(doc []byte, importToo bool) (spans []span, topContext bool, first int, ok bool) {
	first = len(doc) - len(bytes.TrimLeft(doc, " \t\r\n"))
	if first >= len(doc) || (doc[first] != '{' && doc[first] != '[') {
		return nil, false, 0, false
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var stack []frame
	prev := int64(0)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, 0, false
		}
		end := d.InputOffset()
		start := prev
		for start < end && bytes.IndexByte([]byte(" \t\r\n:,"), doc[start]) >= 0 {
			start++
		}
		prev = end
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		// Is this token a value of a context position?
		valueCtx := false
		if top != nil {
			if top.object && !top.expectKey {
				valueCtx = top.key == "@context" || (importToo && top.inContext && top.key == "@import")
			} else if !top.object {
				valueCtx = top.inContext
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				f := frame{object: t == '{', expectKey: t == '{'}
				if top != nil && top.object && !top.expectKey {
					f.inContext = top.key == "@context"
					if f.inContext && len(stack) == 1 {
						topContext = true
					}
					if len(stack) == 2 && !stack[0].object && top.key == "@context" {
						topContext = true
					}
				} else if top != nil && !top.object {
					f.inContext = top.inContext && t == '{'
				}
				stack = append(stack, f)
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.expectKey {
				top.key, top.expectKey = t, false
				continue
			}
			if valueCtx {
				if c, known := knownContext(t); known && c == ContextURI {
					spans = append(spans, span{start, end})
				}
				if top.object && top.key == "@context" && (len(stack) == 1 || (len(stack) == 2 && !stack[0].object)) {
					topContext = true
				}
			}
		default:
			if valueCtx && top.object && top.key == "@context" && (len(stack) == 1 || (len(stack) == 2 && !stack[0].object)) {
				topContext = true // "@context": null
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	return spans, topContext, first, true
}
