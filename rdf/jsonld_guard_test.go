package rdf

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// chainContextDoc is finding 1's document: a context of n terms, each
// defined by the next ("t0":"t1", ...), the last by an IRI.
func chainContextDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"@context":{`)
	for i := range n {
		fmt.Fprintf(&b, `"t%d":"t%d",`, i, i+1)
	}
	fmt.Fprintf(&b, `"t%d":"http://ex.org/"},"@id":"","t0":"v"}`, n)
	return []byte(b.String())
}

// scopedContextDoc is finding 2's document: a property-scoped context of k
// terms on a term used with m values.
func scopedContextDoc(k, m int) []byte {
	var inner []string
	for i := range k {
		inner = append(inner, fmt.Sprintf(`"k%d":"http://ex.org/%d"`, i, i))
	}
	vals := strings.TrimSuffix(strings.Repeat(`{"k1":1},`, m), ",")
	return fmt.Appendf(nil, `{"@context":{"@version":1.1,"a":{"@id":"http://ex.org/a","@context":{%s}}},"@id":"","a":[%s]}`, strings.Join(inner, ","), vals)
}

// typeScopedContextDoc is the same with a type-scoped context on a type
// that m nodes have.
func typeScopedContextDoc(k, m int) []byte {
	var inner []string
	for i := range k {
		inner = append(inner, fmt.Sprintf(`"k%d":"http://ex.org/%d"`, i, i))
	}
	vals := strings.TrimSuffix(strings.Repeat(`{"@type":"T","k1":1},`, m), ",")
	return fmt.Appendf(nil, `{"@context":{"@version":1.1,"p":"http://ex.org/p","T":{"@id":"http://ex.org/T","@context":{%s}}},"@id":"","p":[%s]}`, strings.Join(inner, ","), vals)
}

// compactIRIDoc is finding 5c's document: a prefix of n bytes used by m
// distinct compact IRIs.
func compactIRIDoc(n, m int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"@context":{"p":"http://ex.org/%s#"},"@id":"","p:p":[`, strings.Repeat("a", n))
	for i := range m {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"@id":"p:s%d"}`, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func TestCheckContextsRefuses(t *testing.T) {
	many := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"@context":{`)
		for i := range n {
			fmt.Fprintf(&b, `"t%d":"http://ex.org/%d",`, i, i)
		}
		b.WriteString(`"x":"http://ex.org/x"},"@id":""}`)
		return []byte(b.String())
	}
	embedded := func(per, n int) []byte {
		var objs []string
		for i := range n {
			var terms []string
			for j := range per {
				terms = append(terms, fmt.Sprintf(`"t%d":"http://ex.org/%d"`, j, j))
			}
			objs = append(objs, fmt.Sprintf(`{"@context":{%s},"@id":"n%d"}`, strings.Join(terms, ","), i))
		}
		return []byte(`{"@id":"","http://ex.org/p":[` + strings.Join(objs, ",") + `]}`)
	}
	scopedMany := func(n int) []byte {
		var terms []string
		for i := range n {
			terms = append(terms, fmt.Sprintf(`"s%d":{"@id":"http://ex.org/%d","@context":{}}`, i, i))
		}
		return []byte(`{"@context":{"@version":1.1,` + strings.Join(terms, ",") + `},"@id":""}`)
	}
	for _, c := range []struct {
		name string
		doc  []byte
		want string
	}{
		{"term chain", chainContextDoc(maxTermChain + 1), "term chain limit"},
		{"long term chain", chainContextDoc(maxContextTerms - 10), "term chain limit"},
		{"chain through prefixes", []byte(`{"@context":{` + func() string {
			var s []string
			for i := range 40 {
				s = append(s, fmt.Sprintf(`"p%d":"p%d:x"`, i, i+1))
			}
			return strings.Join(s, ",")
		}() + `,"p40":"http://ex.org/"},"@id":""}`), "term chain limit"},
		{"cycle", []byte(`{"@context":{"a":"b","b":{"@id":"c"},"c":"a"},"@id":""}`), "cycle"},
		{"terms in one context", many(maxContextTerms + 1), "limit per context"},
		{"terms in all contexts", embedded(100, maxTermDefinitions/100+1), "the term limit"},
		{"scoped contexts", scopedMany(maxScopedContexts + 1), "scoped contexts"},
		{"property-scoped uses", scopedContextDoc(300, 300), "context work limit"},
		{"type-scoped uses", typeScopedContextDoc(300, 300), "context work limit"},
		{"compact IRI expansion", compactIRIDoc(100_000, 800), "expansion limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSONLD(c.doc, "https://pod.example/r")
			var je *JSONLDError
			if !errors.As(err, &je) || !errors.Is(err, ErrTooCostly) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseJSONLD: %v, want a *JSONLDError wrapping ErrTooCostly saying %q", err, c.want)
			}
			if err := ExpandJSONLD(c.doc, "https://pod.example/r"); !errors.Is(err, ErrTooCostly) {
				t.Fatalf("ExpandJSONLD: %v, want ErrTooCostly", err)
			}
		})
	}
}

func TestCheckContextsAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  []byte
	}{
		{"chain at the limit", chainContextDoc(maxTermChain)},
		{"property-scoped", scopedContextDoc(20, 100)},
		{"type-scoped", typeScopedContextDoc(20, 100)},
		{"compact IRIs", compactIRIDoc(200, 2000)},
		{"event", benchEvent()},
		{"document", benchContextDoc(100 << 10)},
		{"term with its own IRI", []byte(`{"@context":{"schema":"https://schema.org/","schema:name":{"@id":"schema:name"}},"@id":"","schema:name":"x"}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseJSONLD(c.doc, "https://pod.example/r"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestProcessorPanicMessage(t *testing.T) {
	_, err := ParseJSONLD([]byte(`{"@context":{"@protected":"x"},"@id":""}`), "https://pod.example/r")
	var je *JSONLDError
	if !errors.As(err, &je) {
		t.Fatalf("got %v, want a *JSONLDError", err)
	}
	if strings.Contains(je.Error(), "interface") || !strings.Contains(je.Error(), "@context") {
		t.Fatalf("message %q: want a clean message about the @context, not the Go panic", je.Error())
	}
}

// TestTurtleExpansionLimit: finding 5's Turtle, a long prefix (or base)
// used by many distinct names, is refused while it is read, streaming or
// whole, once its terms pass MaxExpandedBytes.
func TestTurtleExpansionLimit(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	var pfx, base strings.Builder
	pfx.WriteString("@prefix p: <http://ex.org/" + long + "#> .\n")
	base.WriteString("@base <http://ex.org/" + long + "/> .\n")
	for i := range 400 {
		fmt.Fprintf(&pfx, "p:s%d p:p p:o%d .\n", i, i)
		fmt.Fprintf(&base, "<s%d> <p> <o%d> .\n", i, i)
	}
	for name, doc := range map[string]string{"prefix": pfx.String(), "base": base.String()} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseTurtle([]byte(doc), ""); !errors.Is(err, ErrTooCostly) || !strings.Contains(err.Error(), "expansion limit") {
				t.Fatalf("ParseTurtle: %v, want ErrTooCostly naming the expansion limit", err)
			}
			r := NewTurtleReader(strings.NewReader(doc), "")
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, ErrTooCostly) {
				t.Fatalf("TurtleReader: %v, want ErrTooCostly", err)
			}
		})
	}
	// The same names with a short prefix read.
	short := strings.ReplaceAll(pfx.String(), long, "a")
	if _, err := ParseTurtle([]byte(short), ""); err != nil {
		t.Fatal(err)
	}
}
