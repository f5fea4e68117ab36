package rdf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"

	"podserver/jsoncheck"
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
// array, valid UTF-8 and nested at most jsoncheck.MaxDepth deep (json-gold
// recurses per level, so the depth is checked before it sees the
// document), with contexts within the bounds checkContexts sets. Every
// document handed to json-gold goes through it.
func decodeJSONLD(data []byte) (any, error) {
	var ce *jsoncheck.Error
	if err := jsoncheck.Check(data); errors.As(err, &ce) {
		line, col := lineCol(data, ce.Offset+1)
		if errors.Is(err, jsoncheck.ErrTooDeep) {
			err = fmt.Errorf("%w: %w", ErrTooDeep, err)
		}
		return nil, &JSONLDError{Offset: ce.Offset, Line: line, Col: col, Msg: ce.Reason(), Err: err}
	}
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
		if err := checkContexts(doc); err != nil {
			return nil, err
		}
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
// Remote contexts are loaded through rd, when it loads any, with ctx.
func jsonldOptions(ctx context.Context, rd *Reader, base string, doc any) *ld.JsonLdOptions {
	env := sharedEnv()
	opts := ld.NewJsonLdOptions(base)
	l := docLoader{DocumentLoader: env.loader, base: base}
	if rd.loadsRemote() {
		l.remote = &docContexts{r: rd, ctx: ctx, base: base, height: map[string]int{}}
	}
	opts.DocumentLoader = l
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
	if errors.Is(err, errProcessorPanic) {
		return &JSONLDError{Offset: -1, Msg: msgProcessorFailed, Err: err}
	}
	var ce *ContextError
	if errors.As(err, &ce) {
		return &JSONLDError{Offset: -1, Msg: ce.Error(), Err: err}
	}
	return &JSONLDError{Offset: -1, Msg: err.Error(), Err: err}
}

// ParseJSONLD reads a JSON-LD document into quads. Relative IRIs resolve
// against base. A document without a top-level @context is read with
// podserver's context (ContextURI). Remote contexts other than the built-in
// ones are refused (a Reader loads them). Errors are *JSONLDError.
func ParseJSONLD(data []byte, base string) ([]Quad, error) {
	return (*Reader)(nil).ParseJSONLD(context.Background(), data, base)
}

// ParseJSONLD is ParseJSONLD that loads remote contexts through r, with
// ctx.
func (r *Reader) ParseJSONLD(ctx context.Context, data []byte, base string) ([]Quad, error) {
	doc, err := decodeJSONLD(data)
	if err != nil {
		return nil, err
	}
	// Expanded first, so that the node map's cost is known before
	// json-gold builds it (see nodeMapWork).
	var ds *ld.RDFDataset
	var costly error
	err = guard(func() error {
		opts := jsonldOptions(ctx, r, base, doc)
		exp, err := ld.NewJsonLdProcessor().Expand(doc, opts)
		if err != nil {
			return err
		}
		if costly = new(nodeMapWork).check(exp); costly != nil {
			return nil
		}
		ds, err = ld.NewJsonLdApi().ToRDF(exp, opts)
		return err
	})
	if costly != nil {
		return nil, costly
	}
	if err != nil {
		return nil, wrapLD(err)
	}
	n := 0
	for _, g := range ds.Graphs {
		n += len(g)
	}
	if n > MaxStatements {
		return nil, &JSONLDError{Offset: -1, Msg: fmt.Sprintf(msgTooManyStatements, MaxStatements), Err: ErrTooManyStatements}
	}
	return FromDataset(ds), nil
}

// ExpandJSONLD checks that data is valid JSON-LD by expanding it, which is
// cheaper than converting it to RDF; it is meant for validation on the
// publish hot path. The rules are those of ParseJSONLD. Errors are
// *JSONLDError.
func ExpandJSONLD(data []byte, base string) error {
	return (*Reader)(nil).ExpandJSONLD(context.Background(), data, base)
}

// ExpandJSONLD is ExpandJSONLD that loads remote contexts through r, with
// ctx.
func (r *Reader) ExpandJSONLD(ctx context.Context, data []byte, base string) error {
	doc, err := decodeJSONLD(data)
	if err != nil {
		return err
	}
	err = guard(func() error {
		_, err := ld.NewJsonLdProcessor().Expand(doc, jsonldOptions(ctx, r, base, doc))
		return err
	})
	if err != nil {
		return wrapLD(err)
	}
	return nil
}

// errProcessorPanic is wrapped by the error of a panic in json-gold.
var errProcessorPanic = errors.New("the JSON-LD processor panicked")

// msgProcessorFailed is what a client is told when json-gold panicked on
// its document; the panic's own text (a Go runtime message) stays in the
// wrapped error, for the log.
const msgProcessorFailed = "the JSON-LD processor could not read this document: check its @context and keywords (@protected, @version, @container and the like take the values JSON-LD 1.1 defines)"

// guard runs f, turning a panic in json-gold into an error wrapping
// errProcessorPanic: it is third party code on the path of untrusted
// input.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errProcessorPanic, r)
		}
	}()
	return f()
}

// WriteJSONLD writes quads as pretty-printed JSON-LD compacted with
// podserver's context (ContextURI), in one style: the context's aliases id
// and type, never @id or @type, and every IRI of a vocabulary the context
// has a term or prefix for (all of DefaultPrefixes) compacted to it, never
// written in full. It is shaped like hand-written JSON: a blank
// node used once is written inside the object that uses it, and the output
// is the same for the same set of quads. Nesting stops at maxWriteNesting
// levels: deeper blank nodes are written as labelled top-level nodes, and
// deeper lists as their rdf:first/rdf:rest nodes, so any graph can be
// written and the output reads back within the readers' limits. IRIs are
// written absolute, whatever
// base (the document's own IRI) is, because clients also read this JSON as
// plain JSON. Canonical xsd:integer and xsd:boolean literals are written as
// JSON numbers and booleans; every other literal keeps its exact lexical
// form, so ParseJSONLD of the output gives back a graph isomorphic to quads.
func WriteJSONLD(w io.Writer, quads []Quad, base string) error {
	opts := jsonldOptions(context.Background(), nil, base, nil)
	opts.Base = "" // IRIs stay absolute: clients read this JSON as plain JSON too
	quads = slices.CompactFunc(SortQuads(slices.Clone(quads)), func(a, b Quad) bool { return a.Compare(b) == 0 })
	quads, placeholder := hideHeadlessListNodes(quads)
	var compacted map[string]any
	err := guard(func() error {
		ds, err := datasetOfSet(quads)
		if err != nil {
			return fmt.Errorf("converting to JSON-LD: %w", err)
		}
		expanded, err := ld.NewJsonLdApi().FromRDF(ds, opts)
		if err != nil {
			return fmt.Errorf("converting to JSON-LD: %w", err)
		}
		for _, n := range expanded {
			renameProperty(n, placeholder, RDFRest)
		}
		expanded = unrollDeepLists(expanded, freshBlankPrefix(quads))
		for _, n := range expanded {
			useNativeValues(n)
		}
		expanded = embedBlankNodes(expanded)
		compacted, err = ld.NewJsonLdProcessor().Compact(expanded, ContextURI, opts)
		if err != nil {
			return fmt.Errorf("compacting JSON-LD: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rdf: %w", err)
	}
	var buf bytes.Buffer
	writeJSON(&buf, compacted, 0)
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("rdf: writing JSON-LD: %w", err)
	}
	return nil
}

// datasetOfSet returns the json-gold dataset of quads, which hold no
// duplicates. json-gold's fromRDF compares each value of a node's property
// with every value it already has (n²: 20,000 values of one property took
// 13 s) unless the dataset is marked as free of duplicates, which only its
// own N-Quads reader does; so the quads go through it, written so that it
// reads every IRI back unchanged. Should it refuse them all the same (a
// language tag it does not take, say), the dataset is built directly, and
// refused when fromRDF would compare too much.
func datasetOfSet(quads []Quad) (*ld.RDFDataset, error) {
	var buf bytes.Buffer
	if err := writeNQuads(&buf, quads, appendIRIRefUChar); err != nil {
		return nil, err
	}
	if ds, err := ld.ParseNQuadsFrom(buf.Bytes()); err == nil {
		return ds, nil
	}
	// fromRDF's node map compares as GenerateNodeMap's does: per node
	// (graph and subject) and property.
	var w nodeMapWork
	for _, q := range quads {
		if err := w.add(q.G.Value+" "+q.S.Value, q.P.Value); err != nil {
			return nil, err
		}
	}
	return toDataset(quads), nil
}

// hideHeadlessListNodes works around a json-gold bug: its fromRDF takes a
// blank node with an rdf:rest but no rdf:first for a list node and panics.
// Such nodes get their rdf:rest renamed to an IRI the quads do not use,
// which renameProperty turns back after fromRDF.
func hideHeadlessListNodes(quads []Quad) ([]Quad, string) {
	hasFirst := map[Term]bool{}
	predicates := map[string]bool{}
	for _, q := range quads {
		predicates[q.P.Value] = true
		if q.P.Value == RDFFirst {
			hasFirst[q.S] = true
		}
	}
	placeholder := PodVocab + "restWithoutFirst"
	for predicates[placeholder] {
		placeholder += "_"
	}
	for i, q := range quads {
		if q.P.Value == RDFRest && q.S.Kind == KindBlank && !hasFirst[q.S] {
			quads[i].P = IRI(placeholder)
		}
	}
	return quads, placeholder
}

// renameProperty renames a property of the node objects in expanded
// JSON-LD output of fromRDF (nodes at the top and in @graph).
func renameProperty(v any, from, to string) {
	node, ok := v.(map[string]any)
	if !ok {
		return
	}
	if val, ok := node[from]; ok {
		delete(node, from)
		node[to] = val
	}
	if graph, ok := node["@graph"].([]any); ok {
		for _, n := range graph {
			renameProperty(n, from, to)
		}
	}
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
