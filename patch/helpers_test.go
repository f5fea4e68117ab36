package patch

import (
	"errors"
	"strings"
	"testing"

	"podserver/rdf"
)

// base is the URL of the resource the test patches apply to.
const base = "http://pod.example/alice/doc"

// turtle parses a Turtle graph into default-graph quads.
func turtle(t testing.TB, src string) []rdf.Quad {
	t.Helper()
	ts, err := rdf.ParseTurtle([]byte("@prefix ex: <http://www.example.org/terms#>.\n"+src), base)
	if err != nil {
		t.Fatalf("bad test graph: %v\n%s", err, src)
	}
	qs := make([]rdf.Quad, len(ts))
	for i, tr := range ts {
		qs[i] = rdf.Quad{S: tr.S, P: tr.P, O: tr.O}
	}
	return qs
}

// wantErr describes an expected *Error; zero Line means "any position".
type wantErr struct {
	kind      Kind
	msg       string // a substring of Msg
	line, col int
}

// checkErr fails unless err is the *Error want describes.
func checkErr(t *testing.T, err error, want wantErr) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want *Error of kind %v", err, want.kind)
	}
	if pe.Kind != want.kind || !strings.Contains(pe.Msg, want.msg) {
		t.Fatalf("error = %v (kind %v), want kind %v with %q", pe, pe.Kind, want.kind, want.msg)
	}
	if want.line != 0 && (pe.Line != want.line || pe.Col != want.col) {
		t.Fatalf("error %v at %d:%d, want %d:%d", pe, pe.Line, pe.Col, want.line, want.col)
	}
}

// checkSet fails if g holds a quad twice.
func checkSet(t testing.TB, g []rdf.Quad) {
	t.Helper()
	seen := map[rdf.Quad]bool{}
	for _, q := range g {
		if seen[q] {
			t.Fatalf("result holds %v twice", q)
		}
		seen[q] = true
	}
}

// patchCase is a patch applied to a graph, with the graph or the error
// expected.
type patchCase struct {
	name     string
	patch    string
	graph    string // Turtle, resolved against base
	want     string // Turtle of the expected graph, when no error is expected
	parseErr *wantErr
	applyErr *wantErr
}

func runCases(t *testing.T, mediaType string, cases []patchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(mediaType, []byte(tc.patch), base)
			if tc.parseErr != nil {
				checkErr(t, err, *tc.parseErr)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			in := turtle(t, tc.graph)
			before := append([]rdf.Quad(nil), in...)
			got, err := p.Apply(in)
			if !slicesEqual(in, before) {
				t.Fatalf("Apply modified its input")
			}
			if tc.applyErr != nil {
				checkErr(t, err, *tc.applyErr)
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			checkSet(t, got)
			if want := turtle(t, tc.want); !rdf.Isomorphic(got, want) {
				t.Fatalf("got graph\n%s\nwant\n%s", nquads(got), nquads(want))
			}
		})
	}
}

func slicesEqual(a, b []rdf.Quad) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func nquads(g []rdf.Quad) string {
	var b strings.Builder
	for _, q := range g {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func malformed(msg string, lineCol ...int) *wantErr {
	w := &wantErr{kind: Malformed, msg: msg}
	if len(lineCol) == 2 {
		w.line, w.col = lineCol[0], lineCol[1]
	}
	return w
}

func conflict(msg string, lineCol ...int) *wantErr {
	w := malformed(msg, lineCol...)
	w.kind = Conflict
	return w
}
