package rdf

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseNQuads(t *testing.T) {
	doc := "# comment\n" +
		"<http://a/s> <http://a/p> <http://a/o> .\n" +
		"\n   \t\n" +
		"_:x <http://a/p> \"plain\" <http://a/g> . # trailing\r\n" +
		"<http://a/s> <http://a/p> \"tab\\t\\u00E9\\U0001F600\"@en-GB _:g .\n" +
		"<http://a/s>\t<http://a/p>\t\"1\"^^<http://www.w3.org/2001/XMLSchema#integer>.\n" +
		"<http://a/s> <http://a/p> _:x ."
	got, err := ParseNQuads([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Quad{
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: IRI("http://a/o")},
		{S: Blank("x"), P: IRI("http://a/p"), O: Literal("plain", ""), G: IRI("http://a/g")},
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: LangLiteral("tab\té😀", "en-GB"), G: Blank("g")},
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: Literal("1", XSDInteger)},
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: Blank("x")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d quads, want %d:\n%s", len(got), len(want), dumpQuads(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("quad %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNTriplesStrict(t *testing.T) {
	tests := []struct {
		doc       string
		line, col int
		msg       string
	}{
		{"<s> <http://a/p> <http://a/o> .", 1, 1, "relative IRI <s>"},
		{"<http://a/s> <http://a/p> 'x' .", 1, 27, "expected the object"},
		{"<http://a/s> <http://a/p> \"\"\"x\"\"\" .", 1, 29, "expected '.'"},
		{"<http://a/s> <http://a/p> ex:o .", 1, 27, "expected the object"},
		{"<http://a/s> <http://a/p> <http://a/o>", 1, 39, "expected '.'"},
		{"<http://a/s> <http://a/p> <http://a/o> . <http://a/s> <http://a/p> <http://a/o> .", 1, 42, "end of the line"},
		{"<http://a/s> <http://a/p>\n<http://a/o> .", 1, 26, "expected the object"},
		{"<http://a/s> _:p <http://a/o> .", 1, 14, "expected the predicate"},
		{"\"s\" <http://a/p> <http://a/o> .", 1, 1, "expected the subject"},
		{"<http://a/s> <http://a/p> \"x\"^^xsd:string .", 1, 32, "expected the datatype"},
		{"<http://a/s> <http://a/p> \"x\"^<http://a/d> .", 1, 30, "expected '^^'"},
		{"<http://a/s> <http://a/p> \"x\" @ .", 1, 32, "invalid language tag"},
		{"<http://a/s> <http://a/p> <http://a/o> <http://a/g> .", 1, 40, "expected '.'"},
	}
	for _, tc := range tests {
		_, err := ParseNTriples([]byte(tc.doc))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a *SyntaxError", tc.doc, err)
			continue
		}
		if se.Line != tc.line || se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%q: got %d:%d %q, want %d:%d containing %q", tc.doc, se.Line, se.Col, se.Msg, tc.line, tc.col, tc.msg)
		}
	}
	// White space may separate a string from its datatype or language tag.
	got, err := ParseNTriples([]byte("<http://a/s> <http://a/p> \"x\" ^^ <http://a/d> .\n<http://a/s> <http://a/p> \"y\"\t@en ."))
	if err != nil || len(got) != 2 || got[0].O != Literal("x", "http://a/d") || got[1].O != LangLiteral("y", "en") {
		t.Errorf("got %v, %v", got, err)
	}
	// A graph label is fine in N-Quads.
	if _, err := ParseNQuads([]byte("<http://a/s> <http://a/p> <http://a/o> <http://a/g> .")); err != nil {
		t.Error(err)
	}
}

func TestWriteNQuads(t *testing.T) {
	quads := []Quad{
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: Literal("q\" b\\ n\n r\r t\t nul\x00 del\x7f é", "")},
		{S: Blank("ok"), P: IRI("http://a/p"), O: LangLiteral("x", "en"), G: IRI("http://a/g")},
		{S: Blank("not ok"), P: IRI("http://a/p"), O: Literal("2", XSDInteger), G: Blank("g0")},
		{S: Blank("g0"), P: IRI("http://a/p"), O: IRI("http://a/o>")},
	}
	var buf bytes.Buffer
	if err := WriteNQuads(&buf, quads); err != nil {
		t.Fatal(err)
	}
	want := `<http://a/s> <http://a/p> "q\" b\\ n\n r\r t\t nul\u0000 del\u007F é" .
_:ok <http://a/p> "x"@en <http://a/g> .
_:g1 <http://a/p> "2"^^<http://www.w3.org/2001/XMLSchema#integer> _:g0 .
_:g0 <http://a/p> <http://a/o%3E> .
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	back, err := ParseNQuads(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	quads[3].O = IRI("http://a/o%3E")
	if !Isomorphic(quads, back) {
		t.Errorf("round trip differs:\n%s", dumpQuads(back))
	}
	buf.Reset()
	if err := WriteNTriples(&buf, []Triple{quads[0].Triple()}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, buf.String()) {
		t.Errorf("WriteNTriples = %q", buf.String())
	}
}

func TestTermString(t *testing.T) {
	tests := map[string]Term{
		"<http://a/b>":      IRI("http://a/b"),
		"_:x":               Blank("x"),
		`"v"`:               Literal("v", ""),
		`"v"@fr`:            LangLiteral("v", "fr"),
		`"1"^^<http://d/t>`: Literal("1", "http://d/t"),
		"":                  {},
	}
	for want, term := range tests {
		if got := term.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", term, got, want)
		}
	}
	q := Quad{S: IRI("http://s"), P: IRI("http://p"), O: IRI("http://o"), G: IRI("http://g")}
	if got := q.String(); got != "<http://s> <http://p> <http://o> <http://g> ." {
		t.Errorf("Quad.String() = %q", got)
	}
}
