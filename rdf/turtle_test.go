package rdf

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestTurtleStreaming reads every suite file through a reader that returns
// one byte at a time, so that every token crosses a buffer refill, and
// checks the result against reading from memory.
func TestTurtleStreaming(t *testing.T) {
	dir, tests := loadTurtleSuite(t)
	for _, st := range tests {
		data := readSuiteFile(t, dir, st.action)
		want, wantErr := ParseTurtle(data, st.base)
		r := NewTurtleReader(iotest.OneByteReader(bytes.NewReader(data)), st.base)
		var got []Triple
		var err error
		for {
			var tr Triple
			tr, err = r.Next()
			if err != nil {
				break
			}
			got = append(got, tr)
		}
		if err == io.EOF {
			err = nil
		}
		if (err == nil) != (wantErr == nil) {
			t.Errorf("%s: streaming error %v, in-memory error %v", st.name, err, wantErr)
			continue
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Errorf("%s: streaming error %q, in-memory error %q", st.name, err, wantErr)
			}
			continue
		}
		if !Isomorphic(triplesToQuads(got), triplesToQuads(want)) {
			t.Errorf("%s: streaming and in-memory parses differ", st.name)
		}
	}
}

func TestTurtleSyntaxErrors(t *testing.T) {
	tests := []struct {
		doc       string
		line, col int
		msg       string
	}{
		{"<http://a/s> <http://a/p> <http://a/o>", 1, 39, "expected '.'"},
		{"@prefix ex: <http://ex/> .\nex:s ex:p\n  ex:o ;\n  ex:q é .", 4, 8, `unexpected word "é": expected an object`},
		{"@prefix ex: <http://ex/> .\nex:s ex:p \"abc\n\" .", 2, 15, "line break in a string"},
		{"<s> <p> nope:o .", 1, 9, `undefined prefix "nope:"`},
		{"<s> <p> \"x\"@ .", 1, 13, "invalid language tag"},
		{"<s> <p> 'x\\q' .", 1, 11, "invalid escape"},
		{"<s> <p> <o> . <s2>", 1, 19, "expected a predicate"},
		{"<s> <p> (1 2 .", 1, 14, "expected an object"},
		{"\n\n   [ <p> <o> ", 3, 14, "expected ']' to close the blank node property list, found end of input"},
		{"<s> <p> \"\xff\" .", 1, 12, "invalid UTF-8"},
		{"<s> <p> 1.5.3 .", 1, 13, "expected a subject, found '3'"},
	}
	for _, tc := range tests {
		_, err := ParseTurtle([]byte(tc.doc), "http://base/")
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a *SyntaxError", tc.doc, err)
			continue
		}
		if se.Line != tc.line || se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%q: got %d:%d %q, want %d:%d containing %q", tc.doc, se.Line, se.Col, se.Msg, tc.line, tc.col, tc.msg)
		}
		if !strings.Contains(err.Error(), "line "+itoa(tc.line)+", column "+itoa(tc.col)) {
			t.Errorf("%q: message %q does not name the position", tc.doc, err)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestTurtleReadError(t *testing.T) {
	r := NewTurtleReader(io.MultiReader(strings.NewReader("<s> <p> "), failingReader{}), "http://b/")
	_, err := r.Next()
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the read error", err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Fatalf("second Next = %v, want the same error", err2)
	}
}

func TestTurtleReaderState(t *testing.T) {
	doc := "@base <http://a/b/> . PREFIX ex: <x#> @prefix : <y/> . <c> ex:p :o , _:x , _:x , [] ."
	r := NewTurtleReader(strings.NewReader(doc), "http://ignored/")
	var got []Triple
	for {
		tr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	if r.Base() != "http://a/b/" {
		t.Errorf("Base() = %q", r.Base())
	}
	if p := r.Prefixes(); p["ex"] != "http://a/b/x#" || p[""] != "http://a/b/y/" {
		t.Errorf("Prefixes() = %v", p)
	}
	want := "<http://a/b/c> <http://a/b/x#p> <http://a/b/y/o> .\n<http://a/b/c> <http://a/b/x#p> _:b0 .\n" +
		"<http://a/b/c> <http://a/b/x#p> _:b0 .\n<http://a/b/c> <http://a/b/x#p> _:b1 .\n"
	if s := dumpTriples(got); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
}

func TestWriteTurtle(t *testing.T) {
	doc := `@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:b ex:name "B" .
ex:a ex:z """multi
line "quoted\"""" ; a ex:T2, ex:T1 ;
  ex:n 1, -2.50, 1e3, "01"^^xsd:integer, "1."^^xsd:decimal, "x"^^xsd:integer, true, "yes"^^xsd:boolean ;
  ex:l ( 1 [ ex:p ex:o ] ) ; ex:e () ;
  ex:k [ ex:p ex:o ; ex:q [ ex:r "s"@en ] ] ;
  ex:shared _:s1 ; ex:iri <http://other.example/x y> .
ex:b ex:shared _:s1 .
_:s1 ex:p ex:o .
[] ex:p ex:o .
_:c1 ex:p _:c2 . _:c2 ex:p _:c1 .
`
	_, err := ParseTurtle([]byte(strings.ReplaceAll(doc, "x y", `x\u0020y`)), "")
	if err == nil {
		t.Fatal("an escaped space in an IRI was accepted")
	}
	triples, err := ParseTurtle([]byte(strings.ReplaceAll(doc, "x y", "x")), "")
	if err != nil {
		t.Fatal(err)
	}
	triples = append(triples, Triple{S: IRI("http://example.org/a"), P: IRI("http://example.org/iri"), O: IRI("http://other.example/x y")})
	var buf bytes.Buffer
	if err := WriteTurtle(&buf, triples, &TurtleOptions{Prefixes: map[string]string{"ex": "http://example.org/", "xsd": "http://www.w3.org/2001/XMLSchema#", "unused": "http://unused/"}}); err != nil {
		t.Fatal(err)
	}
	want := `@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:a a ex:T1, ex:T2 ;
    ex:e () ;
    ex:iri <http://other.example/x>, <http://other.example/x%20y> ;
    ex:k [
        ex:p ex:o ;
        ex:q [ ex:r "s"@en ]
    ] ;
    ex:l ( 1 [ ex:p ex:o ] ) ;
    ex:n -2.50, 01, 1, "1."^^xsd:decimal, 1e3, true, "x"^^xsd:integer, "yes"^^xsd:boolean ;
    ex:shared _:b0 ;
    ex:z """multi
line \"quoted\"""" .

ex:b ex:name "B" ;
    ex:shared _:b0 .

_:b0 ex:p ex:o .

[] ex:p ex:o .

_:b1 ex:p [ ex:p _:b1 ] .
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	back, err := ParseTurtle(buf.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	// The IRI with a space comes back percent-encoded.
	triples[len(triples)-1].O = IRI("http://other.example/x%20y")
	if !Isomorphic(triplesToQuads(triples), triplesToQuads(back)) {
		t.Error("round trip differs")
	}
	// Same set, other order and labels: same output.
	var again bytes.Buffer
	rev := make([]Triple, len(triples))
	for i, tr := range triples {
		rev[len(triples)-1-i] = tr
	}
	if err := WriteTurtle(&again, rev, &TurtleOptions{Prefixes: map[string]string{"ex": "http://example.org/", "xsd": "http://www.w3.org/2001/XMLSchema#"}}); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Errorf("output depends on input order:\n%s", again.String())
	}
}

func TestWriteTurtleBase(t *testing.T) {
	base := "https://alice.example/profile/card"
	triples := []Triple{
		{S: IRI(base + "#me"), P: IRI(RDFType), O: IRI("http://xmlns.com/foaf/0.1/Person")},
		{S: IRI(base + "#me"), P: IRI("http://www.w3.org/ns/ldp#inbox"), O: IRI("https://alice.example/inbox/")},
		{S: IRI(base), P: IRI("http://xmlns.com/foaf/0.1/primaryTopic"), O: IRI(base + "#me")},
		{S: IRI(base), P: IRI("http://xmlns.com/foaf/0.1/maker"), O: IRI("https://alice.example/profile/key#k")},
	}
	var buf bytes.Buffer
	if err := Write(&buf, MediaTypeTurtle, triplesToQuads(triples), base); err != nil {
		t.Fatal(err)
	}
	want := `@base <https://alice.example/profile/card> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix ldp: <http://www.w3.org/ns/ldp#> .

<> foaf:maker <key#k> ;
    foaf:primaryTopic <#me> .

<#me> a foaf:Person ;
    ldp:inbox <https://alice.example/inbox/> .
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	back, err := ParseTurtle(buf.Bytes(), "http://elsewhere/")
	if err != nil || !Isomorphic(triplesToQuads(triples), triplesToQuads(back)) {
		t.Errorf("round trip failed: %v", err)
	}
}

func TestWriteTurtleRejects(t *testing.T) {
	bad := []Triple{
		{S: Literal("x", ""), P: IRI("http://p"), O: IRI("http://o")},
		{S: IRI("http://s"), P: Blank("p"), O: IRI("http://o")},
		{S: IRI("http://s"), P: IRI("http://p")},
	}
	for _, tr := range bad {
		if err := WriteTurtle(io.Discard, []Triple{tr}, nil); err == nil {
			t.Errorf("WriteTurtle accepted %v", tr)
		}
	}
}

func TestNumberKind(t *testing.T) {
	tests := map[string]string{
		"1": XSDInteger, "+1": XSDInteger, "-007": XSDInteger, "1.5": XSDDecimal, ".5": XSDDecimal,
		"-.5": XSDDecimal, "1e3": XSDDouble, "1.e3": XSDDouble, ".5E-3": XSDDouble, "1.5e+3": XSDDouble,
		"": "", "+": "", "1.": "", ".": "", "e3": "", "1e": "", "1e+": "", "0x1": "", "1.5.": "", "NaN": "", "INF": "",
	}
	for s, want := range tests {
		if got := numberKind(s); got != want {
			t.Errorf("numberKind(%q) = %q, want %q", s, got, want)
		}
	}
}
