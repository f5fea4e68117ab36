package rdf

import (
	"errors"
	"fmt"
	"strings"
)

// json-gold processes contexts recursively and without a budget. A term
// defined by another term of the same context is defined first, by a
// recursive call, so a chain of 830,000 terms ("a":"b","b":"c",...) in a
// 10 MB body overflowed Go's 1 GB stack: a fatal error, not a panic, that
// killed the whole server. A property-scoped context is processed again,
// with a copy of the active context, for every value of its term, so a
// context of K terms applied to M values costs K·M term definitions (55 KB
// took 11 s of CPU). A compact IRI expands to its prefix's IRI, however
// long, each time it is used. So before json-gold sees a document,
// checkContexts walks every @context in it (at the top, embedded, and
// scoped in term definitions), iteratively where json-gold recurses, and
// refuses a document over any of the bounds below.

// Bounds on the contexts of one JSON-LD document.
const (
	// maxContextTerms bounds the terms one context object defines.
	maxContextTerms = 1000
	// maxTermDefinitions bounds the term definitions of all the contexts
	// of a document together (each @context counted where it occurs).
	maxTermDefinitions = 4000
	// maxTermChain bounds how many terms of one context a term's
	// definition may go through (a term defined by a term defined by ...);
	// json-gold recurses once per link.
	maxTermChain = 32
	// maxScopedContexts bounds the scoped contexts (a term definition's
	// @context) of a document.
	maxScopedContexts = 256
	// maxContextWork bounds the context processing json-gold will do, in
	// term definitions: each context where it occurs, and each scoped
	// context as often as its term can be used, plus the copy of the
	// active context json-gold makes each time (counted as 1/8 of a term
	// definition per term). Documents just under it (a scoped context
	// of 115 terms on 110 values, of 1,000 terms on 12, of one term on
	// 1,100; 1,000 embedded one-term contexts) cost 30-60 ms of CPU.
	maxContextWork = 20_000
	// perContext is what processing a context costs whatever its size,
	// in term definitions (measured: a scoped context of one term applied
	// 1,900 times costs as much as one of 190 terms applied 190 times).
	perContext = 16
)

// ErrTooCostly is wrapped by the error a reader returns for a document
// whose parse would cost more than its limits allow: its JSON-LD contexts
// define too many terms or chains of them, or its terms expand to more
// than MaxExpandedBytes (Turtle's prefixed names and @base, JSON-LD's
// compact IRIs and terms).
var ErrTooCostly = errors.New("document too costly to read")

// Client-facing messages of the context limits.
const (
	msgContextTerms     = "a @context defines more than %d terms (the limit per context)"
	msgTermDefinitions  = "the document's contexts define more than %d terms in all (the term limit)"
	msgTermChain        = "term %q is defined through a chain of more than %d terms of its context (the term chain limit); define it with an absolute IRI or a prefix"
	msgTermCycle        = "term %q is defined by itself through other terms of its context (a cycle)"
	msgScopedContexts   = "the document has more than %d scoped contexts (@context in a term definition)"
	msgContextWork      = "the document's contexts would cost about %d term definitions to process, more than %d (the context work limit): each @context counts where it occurs, and a scoped context once per use of its term and per value; define terms once, in the top-level @context"
	msgExpandedTooLarge = "the document's terms expand to more than %d bytes (the expansion limit): its prefixes, base or compact IRIs are too long for how often they are used; write such IRIs in full or shorten the prefix"
)

// tooCostly is the *JSONLDError of a document over a context limit.
func tooCostly(format string, args ...any) error {
	return &JSONLDError{Offset: -1, Msg: fmt.Sprintf(format, args...), Err: ErrTooCostly}
}

// contextGuard accumulates what checkContexts finds in one document.
type contextGuard struct {
	terms    int // term definitions of all contexts
	largest  int // terms of the largest context (about the active context json-gold copies)
	scopedN  int
	work     int            // context processing, in term definitions, but for the copies
	copies   int            // copies of the active context json-gold makes (one per context processed)
	vocabLen int            // longest @vocab
	scoped   map[string]int // term with a scoped context -> terms of that context (the largest)
	expand   map[string]int // term -> bytes it expands to (the longest)
	// DFS state of the term chain walk, reused from context to context.
	state map[string]int8
	depth map[string]int
}

// checkContexts walks the decoded JSON-LD document doc and returns a
// *JSONLDError wrapping ErrTooCostly when its contexts are over a bound
// (see the constants above). The document's nesting is bounded by
// jsoncheck already, so the walk of the JSON recurses; what json-gold
// would do recursively per term is done here with an explicit stack.
func checkContexts(doc any) error {
	var g contextGuard
	if err := g.walk(doc); err != nil {
		return err
	}
	if g.terms == 0 && g.vocabLen == 0 {
		return nil // no inline context: nothing scoped, nothing expands by the document's own terms
	}
	var expanded int64
	if err := g.uses(doc, &expanded); err != nil {
		return err
	}
	return nil
}

// walk finds the @context members of v.
func (g *contextGuard) walk(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			var err error
			if k == "@context" {
				err = g.context(e)
			} else {
				err = g.walk(e)
			}
			if err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := g.walk(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// context checks the value of a @context member: a remote context's IRI,
// null, a context object, or an array of those.
func (g *contextGuard) context(v any) error {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := g.context(e); err != nil {
				return err
			}
		}
	case map[string]any:
		return g.contextObject(v)
	default:
		g.work++ // a remote context (only built-in ones load) or null
	}
	return g.overWork()
}

// overWork reports a document past maxContextWork.
func (g *contextGuard) overWork() error {
	// The sums only grow and largest is their maximum, so whether a
	// document is refused does not depend on the order of the walk.
	if w := g.work + g.copies*g.largest/8; w > maxContextWork {
		return tooCostly(msgContextWork, w, maxContextWork)
	}
	return nil
}

// contextObject checks one context object: its size, its term chains and
// the scoped contexts of its term definitions.
func (g *contextGuard) contextObject(m map[string]any) error {
	n := 0
	for k, v := range m {
		if k == "@vocab" {
			if s, ok := v.(string); ok {
				g.vocabLen = max(g.vocabLen, len(s))
			}
		}
		if !strings.HasPrefix(k, "@") {
			n++
		}
	}
	if n > maxContextTerms {
		return tooCostly(msgContextTerms, maxContextTerms)
	}
	g.terms += n
	if g.terms > maxTermDefinitions {
		return tooCostly(msgTermDefinitions, maxTermDefinitions)
	}
	g.largest = max(g.largest, n)
	g.work += perContext + n
	g.copies++
	if err := g.overWork(); err != nil {
		return err
	}
	if err := g.chains(m); err != nil {
		return err
	}
	for k, v := range m {
		def, ok := v.(map[string]any)
		if !ok {
			continue
		}
		// Contexts anywhere else in a term definition (json-gold refuses
		// such definitions, but not necessarily first) are checked too.
		for dk, dv := range def {
			if dk != "@context" {
				if err := g.walk(dv); err != nil {
					return err
				}
			}
		}
		sc, ok := def["@context"]
		if !ok {
			continue
		}
		g.scopedN++
		if g.scopedN > maxScopedContexts {
			return tooCostly(msgScopedContexts, maxScopedContexts)
		}
		if g.scoped == nil {
			g.scoped = map[string]int{}
		}
		g.scoped[k] = max(g.scoped[k], contextTerms(sc))
		// json-gold processes a scoped context once when it defines the
		// term, to check it; uses cost more (see uses).
		if err := g.context(sc); err != nil {
			return err
		}
	}
	return nil
}

// contextTerms counts the terms a context value defines directly.
func contextTerms(v any) int {
	switch v := v.(type) {
	case []any:
		n := 0
		for _, e := range v {
			n += contextTerms(e)
		}
		return n
	case map[string]any:
		n := 0
		for k := range v {
			if !strings.HasPrefix(k, "@") {
				n++
			}
		}
		return n
	}
	return 1
}

// refs returns the terms of context m that json-gold defines first when
// it defines term: those its IRI, @reverse or @type name, directly or as
// the prefix of a compact IRI, and the prefix of the term itself.
func refs(m map[string]any, term string, buf []string) []string {
	add := func(s string) {
		if s == term || s == "" {
			return
		}
		if _, ok := m[s]; ok && !strings.HasPrefix(s, "@") {
			buf = append(buf, s)
			return
		}
		if p, ok := prefixOf(s); ok && p != term {
			if _, ok := m[p]; ok {
				buf = append(buf, p)
			}
		}
	}
	if p, ok := prefixOf(term); ok {
		if _, ok := m[p]; ok {
			buf = append(buf, p)
		}
	}
	switch v := m[term].(type) {
	case string:
		add(v)
	case map[string]any:
		for _, k := range [...]string{"@id", "@reverse", "@type"} {
			if s, ok := v[k].(string); ok {
				add(s)
			}
		}
	}
	return buf
}

// prefixOf returns the prefix of a compact IRI p:suffix (not a blank node
// label, not an IRI with an authority).
func prefixOf(s string) (string, bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || s[:i] == "_" || strings.HasPrefix(s[i+1:], "//") {
		return "", false
	}
	return s[:i], true
}

// chains walks the term definitions of context m as json-gold defines
// them, with an explicit stack: it refuses chains longer than
// maxTermChain and cycles, and records how many bytes each term expands
// to (its IRI, prefixes expanded).
func (g *contextGuard) chains(m map[string]any) error {
	if g.state == nil {
		g.state, g.depth = map[string]int8{}, map[string]int{}
	}
	clear(g.state)
	clear(g.depth)
	const (
		open = 1
		done = 2
	)
	type frame struct {
		term string
		refs []string
		next int
	}
	var stack []frame
	for root := range m {
		if strings.HasPrefix(root, "@") || g.state[root] != 0 {
			continue
		}
		g.state[root] = open
		stack = append(stack[:0], frame{term: root, refs: refs(m, root, nil)})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(f.refs) {
				r := f.refs[f.next]
				f.next++
				switch g.state[r] {
				case open:
					return tooCostly(msgTermCycle, r)
				case 0:
					if len(stack) > maxTermChain { // the chain would have more links
						return tooCostly(msgTermChain, root, maxTermChain)
					}
					g.state[r] = open
					stack = append(stack, frame{term: r, refs: refs(m, r, nil)})
				}
				continue
			}
			d := 0
			for _, r := range f.refs {
				d = max(d, g.depth[r]+1)
			}
			if d > maxTermChain {
				return tooCostly(msgTermChain, f.term, maxTermChain)
			}
			g.depth[f.term] = d
			g.state[f.term] = done
			g.recordExpansion(m, f.term)
			stack = stack[:len(stack)-1]
		}
	}
	return nil
}

// recordExpansion records how many bytes term of context m expands to:
// its IRI, with its prefix (a term of m, already recorded) expanded.
func (g *contextGuard) recordExpansion(m map[string]any, term string) {
	var id string
	switch v := m[term].(type) {
	case string:
		id = v
	case map[string]any:
		id, _ = v["@id"].(string)
	}
	n := len(id)
	if e, ok := g.expand[id]; ok && id != term {
		n = e
	} else if p, ok := prefixOf(id); ok && p != term {
		n += g.expand[p]
	}
	if g.expand == nil {
		g.expand = map[string]int{}
	}
	g.expand[term] = max(g.expand[term], n)
}

// uses walks the document's keys and strings: each use of a term with a
// scoped context costs that context's processing (json-gold processes a
// property-scoped context for the key and again for each of its values),
// and each name costs the bytes it expands to.
func (g *contextGuard) uses(v any, expanded *int64) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "@context" {
				continue
			}
			*expanded += int64(g.expansion(k) + g.vocabLen)
			if t, ok := g.scoped[k]; ok {
				n := 2
				if a, ok := e.([]any); ok {
					n = 1 + len(a)
				}
				g.work += n * (perContext + t)
				g.copies += n
				if err := g.overWork(); err != nil {
					return err
				}
			}
			if err := g.uses(e, expanded); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := g.uses(e, expanded); err != nil {
				return err
			}
		}
	case string:
		*expanded += int64(g.expansion(v))
		if t, ok := g.scoped[v]; ok { // a type-scoped context
			g.work += perContext + t
			g.copies++
			if err := g.overWork(); err != nil {
				return err
			}
		}
	}
	if *expanded > MaxExpandedBytes {
		return tooCostly(msgExpandedTooLarge, MaxExpandedBytes)
	}
	return nil
}

// expansion is how many bytes name s may expand to by the document's
// terms: a term's IRI, or a compact IRI's prefix plus its suffix.
func (g *contextGuard) expansion(s string) int {
	if e, ok := g.expand[s]; ok {
		return max(e, len(s))
	}
	if p, ok := prefixOf(s); ok {
		return g.expand[p] + len(s)
	}
	return len(s)
}
