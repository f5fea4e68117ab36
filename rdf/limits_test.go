package rdf

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// statements returns a document of n statements in media type mt.
func statements(mt string, n int) string {
	var b strings.Builder
	switch mt {
	case MediaTypeTurtle:
		// A collection: 2 bytes a statement, the cheapest there is.
		b.WriteString("<#s> <#p> (")
		b.WriteString(strings.Repeat(" 1", (n-1)/2))
		b.WriteString(" ) .\n")
	case MediaTypeNTriples, MediaTypeNQuads:
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "<http://x.org/s> <http://x.org/p> \"%d\" .\n", i)
		}
	case MediaTypeJSONLD:
		// One value for each of n nodes: a node with many values of one
		// property meets the value limit first (TestNodeMapWork).
		b.WriteString(`[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"@id":"http://x.org/s%d","http://x.org/p":%d}`, i, i)
		}
		b.WriteString("]")
	}
	return b.String()
}

// TestMaxStatements: a document of MaxStatements statements reads, one of
// more is refused by Parse and Validate alike, with an error that wraps
// ErrTooManyStatements and names the limit.
func TestMaxStatements(t *testing.T) {
	for _, mt := range []string{MediaTypeTurtle, MediaTypeNTriples, MediaTypeNQuads, MediaTypeJSONLD} {
		t.Run(mt, func(t *testing.T) {
			if mt == MediaTypeJSONLD && testing.Short() {
				t.Skip("json-gold takes seconds for 200,000 statements")
			}
			at := MaxStatements
			if mt == MediaTypeTurtle {
				at = MaxStatements - 1 // a collection of k members is 2k+1 statements
			}
			ok := statements(mt, at)
			if q, err := Parse(mt, []byte(ok), "http://x.org/d"); err != nil || len(q) != at {
				t.Fatalf("Parse of %d statements: %d, %v", at, len(q), err)
			}
			if err := Validate(mt, []byte(ok), "http://x.org/d"); err != nil {
				t.Fatalf("Validate of %d statements: %v", at, err)
			}
			over := statements(mt, MaxStatements+2)
			_, perr := Parse(mt, []byte(over), "http://x.org/d")
			verr := Validate(mt, []byte(over), "http://x.org/d")
			for name, err := range map[string]error{"Parse": perr, "Validate": verr} {
				if !errors.Is(err, ErrTooManyStatements) || !strings.Contains(err.Error(), fmt.Sprint(MaxStatements)) {
					t.Errorf("%s of %d statements: %v", name, MaxStatements+2, err)
				}
			}
		})
	}
}

// TestValidateStreams: validating a 10 MB Turtle document of 2-byte
// statements allocates a small part of what reading it whole did (about
// 5 GB before the statement limit).
func TestValidateStreams(t *testing.T) {
	doc := []byte("<#s> <#p> (" + strings.Repeat(" 1", 5<<20) + " ) .\n")
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err := Validate(MediaTypeTurtle, doc, "http://x.org/d")
	runtime.ReadMemStats(&m1)
	if !errors.Is(err, ErrTooManyStatements) {
		t.Fatalf("Validate: %v", err)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 512<<20 {
		t.Errorf("validating 10 MB allocated %d MB", alloc>>20)
	}
}

// TestNodeMapWork: a JSON-LD document whose node map json-gold would build
// in quadratic time is refused before it starts, naming the limit; the
// same number of values spread over nodes, or as a list, reads.
func TestNodeMapWork(t *testing.T) {
	values := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, doc string
		refused   bool
	}{
		{"one node, 2,000 values", `{"@id":"http://x.org/s","http://x.org/p":[` + values(2000) + `]}`, false},
		{"one node, 40,000 values", `{"@id":"http://x.org/s","http://x.org/p":[` + values(40000) + `]}`, true},
		{"40,000 values as a list", `{"@id":"http://x.org/s","http://x.org/p":{"@list":[` + values(40000) + `]}}`, false},
		{"one node split over objects", `[` + strings.Repeat(`{"@id":"http://x.org/s","http://x.org/p":[`+values(1000)+`]},`, 10) + `{}]`, true},
		{"many types", `{"@id":"http://x.org/s","@type":[` + strings.Repeat(`"http://x.org/T",`, 5000) + `"http://x.org/T"]}`, true},
		{"reverse values", `[` + strings.Repeat(`{"@id":"http://x.org/o","@reverse":{"http://x.org/p":[`+strings.Repeat(`{"@id":"http://x.org/s"},`, 999)+`{"@id":"http://x.org/s"}]}},`, 5) + `{}]`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(MediaTypeJSONLD, []byte(c.doc), "http://x.org/d")
			if c.refused != (err != nil) {
				t.Fatalf("refused %v, want %v: %v", err != nil, c.refused, err)
			}
			if c.refused && (!errors.Is(err, ErrTooManyStatements) || !strings.Contains(err.Error(), "value limit")) {
				t.Errorf("error does not name the limit: %v", err)
			}
		})
	}
}

// manyValues is a Turtle document giving one node n values of one property.
func manyValues(t testing.TB, n int) []Quad {
	var b strings.Builder
	b.WriteString("<#s> <#p> 0")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, ", %d", i)
	}
	b.WriteString(" .\n")
	q, err := Parse(MediaTypeTurtle, []byte(b.String()), "http://x.org/d")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestWriteJSONLDManyValues: the JSON-LD writer writes every one of many
// values of one property (BenchmarkWriteJSONLDManyValues shows it takes
// linear time: json-gold's fromRDF compared each with all the others, and
// 20,000 values took 13 s).
func TestWriteJSONLDManyValues(t *testing.T) {
	var out strings.Builder
	if err := WriteJSONLD(&out, manyValues(t, 20000), "http://x.org/d"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), ","); got < 20000-1 {
		t.Fatalf("20000 values written as %d", got+1)
	}
}

// BenchmarkWriteJSONLDManyValues: 10x the values of one property should
// take about 10x the time, not 100x.
func BenchmarkWriteJSONLDManyValues(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		q := manyValues(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				if err := WriteJSONLD(io.Discard, q, "http://x.org/d"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteJSONLDFallback: quads that json-gold's N-Quads reader refuses
// (a language tag that is not one) are still written, through the direct
// dataset.
func TestWriteJSONLDFallback(t *testing.T) {
	q := []Quad{{S: IRI("http://x.org/s"), P: IRI("http://x.org/p"), O: Term{Kind: KindLiteral, Value: "v", Lang: "not a tag"}}}
	if _, err := datasetOfSet(q); err != nil {
		t.Fatalf("datasetOfSet: %v", err)
	}
	var out strings.Builder
	if err := WriteJSONLD(&out, q, "http://x.org/d"); err != nil || !strings.Contains(out.String(), "not a tag") {
		t.Fatalf("WriteJSONLD = %v: %s", err, out.String())
	}
}
