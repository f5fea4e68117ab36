package rdf

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"podserver/jsoncheck"
)

// deepTurtle nests n levels of [ ] (kind "[") or ( ) (kind "(") in the
// object of one statement.
func deepTurtle(kind string, n int) []byte {
	open, close := "[ <http://ex/p> ", " ]"
	if kind == "(" {
		open, close = "( ", " )"
	}
	return []byte("<http://ex/s> <http://ex/p> " + strings.Repeat(open, n) + "<http://ex/o>" + strings.Repeat(close, n) + " .\n")
}

func TestTurtleDepthLimit(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		deep bool
	}{
		{"property lists at the limit", deepTurtle("[", MaxDepth), false},
		{"property lists past the limit", deepTurtle("[", MaxDepth+1), true},
		{"collections at the limit", deepTurtle("(", MaxDepth), false},
		{"collections past the limit", deepTurtle("(", MaxDepth+1), true},
		{"a few MB of brackets", deepTurtle("[", 1<<20), true},
		{"subject property list past the limit", []byte("[ <http://ex/p> " + strings.Repeat("[ <http://ex/p> ", MaxDepth) + "1" + strings.Repeat(" ]", MaxDepth+1) + " ."), true},
		{"subject collection past the limit", []byte(strings.Repeat("( ", MaxDepth+1) + strings.Repeat(" )", MaxDepth+1) + " <http://ex/p> 1 ."), true},
		{"siblings do not add up", bytes.Repeat(deepTurtle("[", MaxDepth), 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTurtle(tt.doc, "")
			if !tt.deep {
				if err != nil {
					t.Fatalf("ParseTurtle: %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrTooDeep) {
				t.Fatalf("ParseTurtle = %v, want a *SyntaxError wrapping ErrTooDeep", err)
			}
			if !strings.Contains(err.Error(), "nested more than "+strconv.Itoa(MaxDepth)+" deep") {
				t.Errorf("message %q does not name the limit", err)
			}
		})
	}
}

func deepJSON(n int) []byte {
	return []byte(strings.Repeat(`{"http://ex/p": `, n) + `"x"` + strings.Repeat(`}`, n))
}

func TestJSONLDDepthAndUTF8(t *testing.T) {
	if _, err := ParseJSONLD(deepJSON(jsoncheck.MaxDepth), ""); err != nil {
		t.Fatalf("a document at the limit: %v", err)
	}
	tests := []struct {
		name   string
		doc    []byte
		sent   error
		offset int64
		msg    string
	}{
		{"too deep", deepJSON(jsoncheck.MaxDepth + 1), ErrTooDeep, int64(len(`{"http://ex/p": `) * jsoncheck.MaxDepth), "nested more than 256 deep"},
		{"far too deep", []byte(strings.Repeat("[", 1<<20)), ErrTooDeep, jsoncheck.MaxDepth, "nesting limit"},
		{"invalid UTF-8", []byte("{\"http://ex/p\": \"caf\xe9\"}"), jsoncheck.ErrInvalidUTF8, 20, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, f := range map[string]func() error{
				"ParseJSONLD":  func() error { _, err := ParseJSONLD(tt.doc, ""); return err },
				"ExpandJSONLD": func() error { return ExpandJSONLD(tt.doc, "") },
			} {
				err := f()
				var je *JSONLDError
				if !errors.As(err, &je) || !errors.Is(err, tt.sent) {
					t.Fatalf("%s = %v, want a *JSONLDError wrapping %v", name, err, tt.sent)
				}
				if je.Offset != tt.offset || !strings.Contains(err.Error(), "byte offset "+strconv.FormatInt(tt.offset, 10)) {
					t.Errorf("%s = %q (offset %d), want byte offset %d", name, err, je.Offset, tt.offset)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s = %q, want it to say %q", name, err, tt.msg)
				}
			}
		})
	}
}

var (
	exS = IRI("http://ex/s")
	exP = IRI("http://ex/p")
)

// chain links blank nodes c0 -> c1 -> ... -> cn-1 by exP from exS: data
// that N-Triples holds flat and that nesting writers would nest n deep.
func chain(n int) []Quad {
	out := []Quad{{S: exS, P: exP, O: Blank("c0")}}
	for i := range n - 1 {
		out = append(out, Quad{S: Blank("c" + itoa(i)), P: exP, O: Blank("c" + itoa(i+1))})
	}
	return append(out, Quad{S: Blank("c" + itoa(n-1)), P: exP, O: Literal("end", "")})
}

// listOfLists nests n one-item lists in each other: ( ( ( ... "end" ) ) ).
func listOfLists(n int) []Quad {
	out := []Quad{{S: exS, P: exP, O: Blank("l0")}}
	for i := range n {
		item := Literal("end", "")
		if i+1 < n {
			item = Blank("l" + itoa(i+1))
		}
		out = append(out,
			Quad{S: Blank("l" + itoa(i)), P: IRI(RDFFirst), O: item},
			Quad{S: Blank("l" + itoa(i)), P: IRI(RDFRest), O: IRI(RDFNil)})
	}
	return out
}

// longList is one flat list of n items.
func longList(n int) []Quad {
	out := []Quad{{S: exS, P: exP, O: Blank("i0")}}
	for i := range n {
		rest := IRI(RDFNil)
		if i+1 < n {
			rest = Blank("i" + itoa(i+1))
		}
		out = append(out,
			Quad{S: Blank("i" + itoa(i)), P: IRI(RDFFirst), O: Literal(itoa(i), XSDInteger)},
			Quad{S: Blank("i" + itoa(i)), P: IRI(RDFRest), O: rest})
	}
	return out
}

// mixed alternates embedded nodes and lists: exS p [ p ( [ p ( ... ) ] ) ].
func mixed(n int) []Quad {
	out := []Quad{{S: exS, P: exP, O: Blank("m0")}}
	for i := range n {
		node, cell, next := Blank("m"+itoa(i)), Blank("k"+itoa(i)), Blank("m"+itoa(i+1))
		if i+1 == n {
			out = append(out, Quad{S: node, P: exP, O: Literal("end", "")})
			break
		}
		out = append(out,
			Quad{S: node, P: exP, O: cell},
			Quad{S: cell, P: IRI(RDFFirst), O: next},
			Quad{S: cell, P: IRI(RDFRest), O: IRI(RDFNil)})
	}
	return out
}

// TestWritersDeepData writes graphs that nest without bound in every
// format: each writer finishes without recursing with the depth, and what
// Turtle and JSON-LD write reads back within the limits, as the same graph.
func TestWritersDeepData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		quads []Quad
		check bool // compare graphs (isomorphism of long chains is slow)
	}{
		{"chain of 1000", chain(1000), true},
		{"chain of 20000", chain(20000), false},
		{"list of 1000 lists", listOfLists(1000), true},
		{"list of 20000 lists", listOfLists(20000), false},
		{"flat list of 20000", longList(20000), false},
		{"lists and nodes, 300 deep", mixed(300), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mt := range MediaTypes() {
				var buf bytes.Buffer
				if err := Write(&buf, mt, tc.quads, "http://ex/doc"); err != nil {
					t.Fatalf("Write %s: %v", mt, err)
				}
				back, err := Parse(mt, buf.Bytes(), "http://ex/doc")
				if err != nil {
					t.Fatalf("%s output does not read back: %v", mt, err)
				}
				if len(back) != len(tc.quads) {
					t.Fatalf("%s: %d quads read back, want %d", mt, len(back), len(tc.quads))
				}
				if tc.check && !Isomorphic(back, tc.quads) {
					t.Errorf("%s: the graph read back differs", mt)
				}
			}
		})
	}
}

// TestWritersNestUpToTheLimit pins the fallback: the Turtle output of a
// deep chain nests exactly maxWriteNesting levels, then uses labels.
func TestWritersNestUpToTheLimit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTurtle(&buf, quadsToTriples(chain(3*maxWriteNesting)), nil); err != nil {
		t.Fatal(err)
	}
	depth, most := 0, 0
	for _, c := range buf.Bytes() {
		switch c {
		case '[':
			depth++
			most = max(most, depth)
		case ']':
			depth--
		}
	}
	if most != maxWriteNesting {
		t.Errorf("Turtle nests %d deep, want %d", most, maxWriteNesting)
	}
	if !bytes.Contains(buf.Bytes(), []byte("_:b0")) {
		t.Errorf("no labelled blank node past the limit:\n%.400s", buf.String())
	}
}

func quadsToTriples(qs []Quad) []Triple {
	out := make([]Triple, len(qs))
	for i, q := range qs {
		out[i] = q.Triple()
	}
	return out
}

// TestFreshBlankPrefix checks the labels the JSON-LD writer makes up for
// unrolled lists cannot clash with the data's.
func TestFreshBlankPrefix(t *testing.T) {
	qs := []Quad{
		{S: Blank("list0"), P: exP, O: Blank("listxx7")},
		{S: exS, P: exP, O: Blank("listx")},
	}
	if got := freshBlankPrefix(qs); got != "listxxx" {
		t.Errorf("freshBlankPrefix = %q, want listxxx", got)
	}
	qs = append(listOfLists(300), Quad{S: Blank("list0"), P: exP, O: Literal("x", "")})
	var buf bytes.Buffer
	if err := WriteJSONLD(&buf, qs, ""); err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSONLD(buf.Bytes(), "")
	if err != nil || !Isomorphic(back, qs) {
		t.Fatalf("round trip with a clashing label: err %v, isomorphic %v", err, err == nil && Isomorphic(back, qs))
	}
}

// TestIsomorphicManyLookalikes needs one branch per blank node: n blank
// nodes with the same neighbourhood. It ran on the Go stack before.
func TestIsomorphicManyLookalikes(t *testing.T) {
	const n = 1000
	var a, b []Quad
	for i := range n {
		a = append(a, Quad{S: Blank("a" + itoa(i)), P: exP, O: exS})
		b = append(b, Quad{S: Blank("b" + itoa(n-1-i)), P: exP, O: exS})
	}
	if !Isomorphic(a, b) {
		t.Fatal("relabelled look-alikes are not isomorphic")
	}
	b[n/2].O = IRI("http://ex/other")
	if Isomorphic(a, b) {
		t.Fatal("look-alikes with one changed are isomorphic")
	}
}
