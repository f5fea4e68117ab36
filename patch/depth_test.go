package patch

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestNestingLimit: patches nested past maxDepth are Malformed (422) with
// a message naming the limit, however deep they go (a few MB of brackets
// included); patches at the limit parse.
func TestNestingLimit(t *testing.T) {
	n3 := func(inner string) string {
		return "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n_:p a solid:InsertDeletePatch; solid:inserts { <a> <b> " + inner + " }."
	}
	sparql := func(inner string) string { return "INSERT DATA { <a> <b> " + inner + " }" }
	nest := func(open, mid, close string, n int) string {
		return strings.Repeat(open, n) + mid + strings.Repeat(close, n)
	}
	// The { } of the formula is one level.
	const inFormula = maxDepth - 1
	tests := []struct {
		name, mt, body string
		deep           bool
	}{
		{"N3 property lists at the limit", MediaN3, n3(nest("[ <b> ", "1", " ]", inFormula)), false},
		{"N3 property lists past the limit", MediaN3, n3(nest("[ <b> ", "1", " ]", inFormula+1)), true},
		{"N3 collections past the limit", MediaN3, n3(nest("( ", "1", " )", inFormula+1)), true},
		{"N3 a few MB of brackets", MediaN3, n3(strings.Repeat("( ", 2<<20)), true},
		{"N3 nested formulae", MediaN3, n3(nest("{ <a> <b> ", "1", " }", 2*maxDepth)), true},
		{"SPARQL collections at the limit", MediaSPARQLUpdate, sparql(nest("( ", "1", " )", inFormula)), false},
		{"SPARQL property lists past the limit", MediaSPARQLUpdate, sparql(nest("[ <b> ", "1", " ]", inFormula+1)), true},
		{"SPARQL a few MB of brackets", MediaSPARQLUpdate, sparql(strings.Repeat("[ <b> ", 1<<20)), true},
		{"SPARQL WHERE past the limit", MediaSPARQLUpdate, "DELETE { ?s <b> ?o } WHERE { ?s <b> " + nest("[ <b> ", "?o", " ]", inFormula+1) + " }", true},
	}
	want := fmt.Sprintf(msgTooDeep, maxDepth)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.mt, []byte(tt.body), base)
			if !tt.deep {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != Malformed || pe.Line < 1 {
				t.Fatalf("Parse = %v, want a positioned Malformed *Error", err)
			}
			if tt.name == "N3 nested formulae" {
				if pe.Msg != msgNestedFormula && pe.Msg != want {
					t.Fatalf("Parse = %v, want %q or %q", err, msgNestedFormula, want)
				}
				return
			}
			if pe.Msg != want || !strings.Contains(err.Error(), "nested more than 64 deep") {
				t.Fatalf("Parse = %v, want %q", err, want)
			}
		})
	}
}
