package rdf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// JSONLDError reports a document that is not acceptable JSON-LD: invalid
// JSON, a top level that is neither an object nor an array, an unknown
// remote context, or a JSON-LD processing error. The HTTP layer answers it
// with 400 Bad Request and Error() as the message.
type JSONLDError struct {
	// Offset is the byte offset of a JSON syntax error, or -1.
	Offset int64
	// Line and Col locate a JSON syntax error (1-based, Col in bytes); zero
	// otherwise.
	Line, Col int
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error says what is wrong and, for JSON syntax errors, where.
func (e *JSONLDError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("invalid JSON at line %d, column %d (byte offset %d): %s", e.Line, e.Col, e.Offset, e.Msg)
	}
	return "invalid JSON-LD: " + e.Msg
}

// Unwrap returns the underlying error.
func (e *JSONLDError) Unwrap() error { return e.Err }

// decodeJSONLD decodes a JSON-LD document, which must be a JSON object or
// array.
func decodeJSONLD(data []byte) (any, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return nil, &JSONLDError{Offset: se.Offset, Line: line, Col: col, Msg: se.Error(), Err: err}
		}
		return nil, &JSONLDError{Offset: -1, Msg: err.Error(), Err: err}
	}
	switch doc.(type) {
	case map[string]any, []any:
		return doc, nil
	case nil:
		return nil, &JSONLDError{Offset: -1, Msg: "the document must be a JSON object or array, not null"}
	default:
		return nil, &JSONLDError{Offset: -1, Msg: fmt.Sprintf("the document must be a JSON object or array, not a %s", jsonKind(doc))}
	}
}

// lineCol locates the byte that made a JSON decoder stop after reading
// offset bytes.
func lineCol(data []byte, offset int64) (line, col int) {
	pos := int(offset) - 1
	if pos < 0 {
		pos = 0
	}
	if pos > len(data) {
		pos = len(data)
	}
	line = 1 + bytes.Count(data[:pos], []byte{'\n'})
	col = pos - bytes.LastIndexByte(data[:pos], '\n')
	return line, col
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// hasContext reports whether a decoded document declares a top-level
// @context (for an array: whether any of its objects does).
func hasContext(doc any) bool {
	switch d := doc.(type) {
	case map[string]any:
		_, ok := d["@context"]
		return ok
	case []any:
		for _, e := range d {
			if hasContext(e) {
				return true
			}
		}
	}
	return false
}

// jsonldOptions returns the json-gold options for a document: our loader,
// the base, and podserver's context as the initial context when the
// document declares none (so plain Yodata-style JSON is JSON-LD as is).
func jsonldOptions(base string, doc any) *ld.JsonLdOptions {
	env := sharedEnv()
	opts := ld.NewJsonLdOptions(base)
	opts.DocumentLoader = env.loader
	if doc != nil && !hasContext(doc) {
		opts.ExpandContext = env.podContext(base)
	}
	return opts
}

// wrapLD turns a json-gold error into a *JSONLDError.
func wrapLD(err error) error {
	var uc *UnknownContextError
	if errors.As(err, &uc) {
		return &JSONLDError{Offset: -1, Msg: uc.Error(), Err: err}
	}
	return &JSONLDError{Offset: -1, Msg: err.Error(), Err: err}
}

// ParseJSONLD reads a JSON-LD document into quads. Relative IRIs resolve
// against base. A document without a top-level @context is read with
// podserver's context (ContextURI). Remote contexts other than the built-in
// ones are refused. Errors are *JSONLDError.
func ParseJSONLD(data []byte, base string) ([]Quad, error) {
	doc, err := decodeJSONLD(data)
	if err != nil {
		return nil, err
	}
	out, err := ld.NewJsonLdProcessor().ToRDF(doc, jsonldOptions(base, doc))
	if err != nil {
		return nil, wrapLD(err)
	}
	ds, ok := out.(*ld.RDFDataset)
	if !ok {
		return nil, fmt.Errorf("rdf: json-gold returned %T, not a dataset", out)
	}
	return FromDataset(ds), nil
}

// ExpandJSONLD checks that data is valid JSON-LD by expanding it, which is
// cheaper than converting it to RDF; it is meant for validation on the
// publish hot path. The rules are those of ParseJSONLD. Errors are
// *JSONLDError.
func ExpandJSONLD(data []byte, base string) error {
	doc, err := decodeJSONLD(data)
	if err != nil {
		return err
	}
	if _, err := ld.NewJsonLdProcessor().Expand(doc, jsonldOptions(base, doc)); err != nil {
		return wrapLD(err)
	}
	return nil
}

// WriteJSONLD writes quads as pretty-printed JSON-LD compacted with
// podserver's context (ContextURI), shaped like hand-written JSON: a blank
// node used once is written inside the object that uses it, and the output
// is the same for the same set of quads. IRIs are written absolute, whatever
// base (the document's own IRI) is, because clients also read this JSON as
// plain JSON. Canonical xsd:integer and xsd:boolean literals are written as
// JSON numbers and booleans; every other literal keeps its exact lexical
// form, so ParseJSONLD of the output gives back a graph isomorphic to quads.
func WriteJSONLD(w io.Writer, quads []Quad, base string) error {
	opts := jsonldOptions(base, nil)
	opts.Base = "" // IRIs stay absolute: clients read this JSON as plain JSON too
	expanded, err := ld.NewJsonLdApi().FromRDF(ToDataset(SortQuads(slices.Clone(quads))), opts)
	if err != nil {
		return fmt.Errorf("rdf: converting to JSON-LD: %w", err)
	}
	for _, n := range expanded {
		useNativeValues(n)
	}
	expanded = embedBlankNodes(expanded)
	compacted, err := ld.NewJsonLdProcessor().Compact(expanded, ContextURI, opts)
	if err != nil {
		return fmt.Errorf("rdf: compacting JSON-LD: %w", err)
	}
	var buf bytes.Buffer
	writeJSON(&buf, compacted, 0)
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("rdf: writing JSON-LD: %w", err)
	}
	return nil
}

// maxExactInt is the largest integer every JSON reader holds exactly.
const maxExactInt = 1 << 53

// useNativeValues rewrites, in expanded JSON-LD, value objects holding a
// canonical xsd:integer (within ±2^53) or xsd:boolean as native JSON values.
// JSON-LD turns those back into the very same literals.
func useNativeValues(v any) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			if nv, ok := nativeValue(e); ok {
				v[i] = nv
				continue
			}
			useNativeValues(e)
		}
	case map[string]any:
		for _, e := range v {
			useNativeValues(e)
		}
	}
}

func nativeValue(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return nil, false
	}
	lex, ok1 := m["@value"].(string)
	dt, ok2 := m["@type"].(string)
	if !ok1 || !ok2 {
		return nil, false
	}
	switch dt {
	case XSDBoolean:
		if lex == "true" || lex == "false" {
			return map[string]any{"@value": lex == "true"}, true
		}
	case XSDInteger:
		if !isCanonicalInteger(lex) {
			return nil, false
		}
		n, err := strconv.ParseInt(lex, 10, 64)
		if err != nil || n > maxExactInt || n < -maxExactInt {
			return nil, false
		}
		return map[string]any{"@value": float64(n)}, true
	}
	return nil, false
}

// isCanonicalInteger reports whether s is the canonical lexical form of an
// xsd:integer: an optional minus, no leading zeros, not "-0".
func isCanonicalInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (digits[0] == '0' && (len(digits) > 1 || len(s) > 1)) {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// FromDataset converts a json-gold dataset to quads: the default graph
// first, then named graphs in name order, each in dataset order.
func FromDataset(ds *ld.RDFDataset) []Quad {
	if ds == nil {
		return nil
	}
	n := 0
	for _, g := range ds.Graphs {
		n += len(g)
	}
	quads := make([]Quad, 0, n)
	quads = appendGraph(quads, Term{}, ds.Graphs["@default"])
	for _, name := range sortedKeys(ds.Graphs) {
		if name == "@default" {
			continue
		}
		g := IRI(name)
		if label, ok := strings.CutPrefix(name, "_:"); ok {
			g = Blank(label)
		}
		quads = appendGraph(quads, g, ds.Graphs[name])
	}
	return quads
}

func appendGraph(quads []Quad, g Term, triples []*ld.Quad) []Quad {
	for _, t := range triples {
		if t == nil || t.Subject == nil || t.Predicate == nil || t.Object == nil {
			continue
		}
		quads = append(quads, Quad{S: fromNode(t.Subject), P: fromNode(t.Predicate), O: fromNode(t.Object), G: g})
	}
	return quads
}

func fromNode(n ld.Node) Term {
	switch n := n.(type) {
	case ld.IRI:
		return IRI(n.Value)
	case *ld.IRI:
		return IRI(n.Value)
	case ld.BlankNode:
		return Blank(strings.TrimPrefix(n.Attribute, "_:"))
	case *ld.BlankNode:
		return Blank(strings.TrimPrefix(n.Attribute, "_:"))
	case ld.Literal:
		return fromLiteral(n)
	case *ld.Literal:
		return fromLiteral(*n)
	}
	return Term{}
}

func fromLiteral(l ld.Literal) Term {
	if l.Language != "" {
		return LangLiteral(l.Value, l.Language)
	}
	return Literal(l.Value, l.Datatype)
}

// ToDataset converts quads to a json-gold dataset.
func ToDataset(quads []Quad) *ld.RDFDataset {
	ds := ld.NewRDFDataset()
	for _, q := range quads {
		name := "@default"
		switch q.G.Kind {
		case KindIRI:
			name = q.G.Value
		case KindBlank:
			name = "_:" + q.G.Value
		}
		ds.Graphs[name] = append(ds.Graphs[name], ld.NewQuad(toNode(q.S), toNode(q.P), toNode(q.O), name))
	}
	return ds
}

func toNode(t Term) ld.Node {
	switch t.Kind {
	case KindBlank:
		return ld.NewBlankNode("_:" + t.Value)
	case KindLiteral:
		if t.Lang != "" {
			return ld.NewLiteral(t.Value, RDFLangString, t.Lang)
		}
		return ld.NewLiteral(t.Value, t.Datatype, "")
	default:
		return ld.NewIRI(t.Value)
	}
}

// writeJSON pretty-prints a decoded JSON value with two-space indentation,
// object keys in a reader-friendly order (see jsonKeyOrder).
func writeJSON(buf *bytes.Buffer, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteString("{\n")
		for i, k := range jsonKeyOrder(v) {
			if i > 0 {
				buf.WriteString(",\n")
			}
			indent(buf, depth+1)
			writeJSONString(buf, k)
			buf.WriteString(": ")
			writeJSON(buf, v[k], depth+1)
		}
		buf.WriteByte('\n')
		indent(buf, depth)
		buf.WriteByte('}')
	case []any:
		if len(v) == 0 {
			buf.WriteString("[]")
			return
		}
		buf.WriteString("[\n")
		for i, e := range v {
			if i > 0 {
				buf.WriteString(",\n")
			}
			indent(buf, depth+1)
			writeJSON(buf, e, depth+1)
		}
		buf.WriteByte('\n')
		indent(buf, depth)
		buf.WriteByte(']')
	case string:
		writeJSONString(buf, v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= maxExactInt {
			buf.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
			return
		}
		b, _ := json.Marshal(v)
		buf.Write(b)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			buf.WriteString("null")
			return
		}
		buf.Write(b)
	}
}

func indent(buf *bytes.Buffer, depth int) {
	for range depth {
		buf.WriteString("  ")
	}
}

// jsonKeyOrder lists the keys of m: @context, id/@id, @value, type/@type,
// @language, then the others sorted.
func jsonKeyOrder(m map[string]any) []string {
	keys := sortedKeys(m)
	rank := func(k string) int {
		switch k {
		case "@context":
			return 0
		case "id", "@id":
			return 1
		case "@value":
			return 2
		case "type", "@type":
			return 3
		case "@language":
			return 4
		}
		return 5
	}
	out := keys[:0:0]
	for r := range 6 {
		for _, k := range keys {
			if rank(k) == r {
				out = append(out, k)
			}
		}
	}
	return out
}

// writeJSONString writes s as a JSON string without HTML escaping; invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func writeJSONString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[r>>4])
			buf.WriteByte(hex[r&0xf])
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}
