package patch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"podserver/rdf"
)

func TestParseMediaTypes(t *testing.T) {
	n3 := "@prefix solid: <http://www.w3.org/ns/solid/terms#>. <#p> a solid:InsertDeletePatch."
	for _, tc := range []struct {
		mediaType, body string
		unsupported     bool
	}{
		{MediaN3, n3, false},
		{"text/n3; charset=utf-8", n3, false},
		{"Text/N3", n3, false},
		{MediaSPARQLUpdate, "INSERT DATA {}", false},
		{"application/sparql-update;charset=UTF-8", "INSERT DATA {}", false},
		{"text/turtle", "<a> <b> <c>.", true},
		{"application/json-patch+json", "[]", true},
		{"", n3, true},
		{"text/n3; =bad", n3, true},
	} {
		_, err := Parse(tc.mediaType, []byte(tc.body), base)
		if got := errors.Is(err, ErrUnsupported); got != tc.unsupported {
			t.Errorf("Parse(%q): err = %v, want unsupported %v", tc.mediaType, err, tc.unsupported)
		}
		if !tc.unsupported && err != nil {
			t.Errorf("Parse(%q): %v", tc.mediaType, err)
		}
	}
}

func TestInsertsDeletes(t *testing.T) {
	for _, tc := range []struct {
		mediaType, body  string
		inserts, deletes bool
	}{
		{MediaN3, n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> <#c> }.`, true, false},
		{MediaN3, n3Head + `<#p> a solid:InsertDeletePatch; solid:deletes { <#a> <#b> <#c> }.`, false, true},
		{MediaN3, n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?a <#b> <#c> }; solid:inserts { ?a <#b> <#d> }.`, true, true},
		{MediaN3, n3Head + `<#p> a solid:InsertDeletePatch; solid:where {}; solid:inserts {}; solid:deletes {}.`, false, false},
		{MediaSPARQLUpdate, `INSERT DATA { <a> <b> <c> }`, true, false},
		{MediaSPARQLUpdate, `INSERT DATA { }`, false, false},
		{MediaSPARQLUpdate, `DELETE DATA { <a> <b> <c> }`, false, true},
		{MediaSPARQLUpdate, `INSERT { ?a <b> <c> } WHERE { ?a <b> <d> }`, true, true},
		{MediaSPARQLUpdate, `INSERT { <a> <b> <c> } WHERE { }`, true, false},
		{MediaSPARQLUpdate, `DELETE WHERE { ?a <b> <c> }`, false, true},
		{MediaSPARQLUpdate, `INSERT DATA { <a> <b> <c> }; DELETE DATA { <a> <b> <d> }`, true, true},
		{MediaSPARQLUpdate, ``, false, false},
	} {
		p, err := Parse(tc.mediaType, []byte(tc.body), base)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.body, err)
		}
		if p.Inserts() != tc.inserts || p.Deletes() != tc.deletes {
			t.Errorf("%q: Inserts, Deletes = %v, %v; want %v, %v", tc.body, p.Inserts(), p.Deletes(), tc.inserts, tc.deletes)
		}
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: Malformed, Msg: "bad", Line: 3, Col: 7}, "malformed patch at line 3, column 7: bad"},
		{&Error{Kind: Conflict, Msg: "no match"}, "patch conflict: no match"},
		{&Error{Kind: 9, Msg: "x"}, "patch error kind 9: x"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestNamedGraphs checks that patches see and change the default graph only.
func TestNamedGraphs(t *testing.T) {
	a, b, c, d := rdf.IRI("http://x/a"), rdf.IRI("http://x/b"), rdf.IRI("http://x/c"), rdf.IRI("http://x/d")
	g := rdf.IRI("http://x/g")
	in := []rdf.Quad{
		{S: a, P: b, O: c, G: g},
		{S: a, P: b, O: c},
		{S: a, P: b, O: d, G: g},
	}
	p, err := Parse(MediaSPARQLUpdate, []byte(`DELETE DATA { <http://x/a> <http://x/b> <http://x/c> } ;
INSERT DATA { <http://x/a> <http://x/b> <http://x/d> } ;
DELETE { ?s ?p ?o } WHERE { ?s ?p <http://x/nothing> }`), base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []rdf.Quad{{S: a, P: b, O: c, G: g}, {S: a, P: b, O: d, G: g}, {S: a, P: b, O: d}}
	if !slicesEqual(got, want) {
		t.Fatalf("got\n%swant\n%s", nquads(got), nquads(want))
	}

	// An N3 where clause does not match named graphs either.
	p, err = Parse(MediaN3, []byte(n3Head+`<#p> a solid:InsertDeletePatch; solid:where { ?s <http://x/b> <http://x/d> }.`), base)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Apply([]rdf.Quad{{S: a, P: b, O: d, G: g}})
	checkErr(t, err, wantErr{kind: Conflict, msg: msgNoMatch})
}

// TestResultIsSet checks that duplicates in the input are dropped and that
// the input order is kept.
func TestResultIsSet(t *testing.T) {
	a, b := rdf.IRI("http://x/a"), rdf.IRI("http://x/b")
	l1, l2 := rdf.Literal("1", ""), rdf.Literal("2", "")
	in := []rdf.Quad{{S: a, P: b, O: l2}, {S: a, P: b, O: l1}, {S: a, P: b, O: l2}}
	p, err := Parse(MediaSPARQLUpdate, []byte(`INSERT DATA { <http://x/a> <http://x/b> "1", "3" }`), base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []rdf.Quad{{S: a, P: b, O: l2}, {S: a, P: b, O: l1}, {S: a, P: b, O: rdf.Literal("3", "")}}
	if !slicesEqual(got, want) {
		t.Fatalf("got\n%swant\n%s", nquads(got), nquads(want))
	}
}

// TestFreshBlankNodes checks that inserted blank nodes never take a label
// the graph uses, in any graph, nor one inserted before.
func TestFreshBlankNodes(t *testing.T) {
	p := rdf.IRI("http://x/p")
	var in []rdf.Quad
	used := map[string]bool{}
	for i := range 5 {
		label := fmt.Sprintf("b%d", i)
		used[label] = true
		q := rdf.Quad{S: rdf.Blank(label), P: p, O: rdf.Literal(label, "")}
		if i == 4 {
			q.G = rdf.Blank("b5")
			used["b5"] = true
		}
		in = append(in, q)
	}
	pt, err := Parse(MediaSPARQLUpdate, []byte(`INSERT DATA { _:b0 <http://x/p> _:b1 } ; INSERT DATA { _:b0 <http://x/p> [] }`), base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pt.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	fresh := map[string]bool{}
	for _, q := range got[len(in):] {
		for _, term := range []rdf.Term{q.S, q.O} {
			if used[term.Value] {
				t.Errorf("inserted blank node reuses label %q", term.Value)
			}
			fresh[term.Value] = true
		}
	}
	if len(got) != len(in)+2 || len(fresh) != 4 {
		t.Fatalf("want 2 new triples over 4 new blank nodes, got\n%s", nquads(got))
	}
}

// TestApplyTwice checks that a Patch can be applied again, to another graph.
func TestApplyTwice(t *testing.T) {
	p, err := Parse(MediaN3, []byte(n3Head+`<#p> a solid:InsertDeletePatch; solid:where { ?x ex:n 1 }; solid:inserts { ?x ex:m [] }.`), base)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{`<#a> ex:n 1.`, `<#b> ex:n 1.`} {
		got, err := p.Apply(turtle(t, g))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got\n%s", nquads(got))
		}
	}
}

// TestLimits checks that costly WHERE clauses end in a Malformed error.
func TestLimits(t *testing.T) {
	var g strings.Builder
	for i := range 20 {
		fmt.Fprintf(&g, "<#s%d> ex:p %d.\n", i, i)
	}
	graph := turtle(t, g.String())
	small := limits{solutions: 100, instances: 1000, steps: 10_000, statements: 10_000, bytes: 1 << 20}
	var tmpl strings.Builder
	for i := range 51 {
		fmt.Fprintf(&tmpl, "?a ex:q %d . ", i)
	}
	for _, tc := range []struct {
		name, patch string
		msg         string
		col         int
		lim         *limits // instead of small
	}{
		{"too many solutions", `INSERT { ?a ?b ?c } WHERE { ?a ?b ?c . ?d ?e ?f }`, msgTooManySolns, 27, nil},
		{"too many instances", spHead + `INSERT { ` + tmpl.String() + ` } WHERE { ?a ex:p ?c }`, msgTooManyTriples, 0, nil},
		{"too many steps", `INSERT { <a> <b> <c> } WHERE { _:a ?b _:c . _:d ?e _:f . _:g ?h _:i . _:j ?k _:l }`, msgTooComplex, 30, nil},
		// Each operation is within the limits; together they are not: the
		// limits are the whole patch's (hostile review, finding 3).
		{"steps summed over operations", strings.Repeat(`DELETE { ?a <n> ?c } WHERE { ?a ?b ?c . ?d ?e ?f } ;`, 40), msgTooComplex, 0,
			&limits{solutions: 100_000, instances: 100_000, steps: 10_000, statements: 10_000, bytes: 1 << 20}},
		{"solutions summed over operations", strings.Repeat(`DELETE { ?a <n> ?c } WHERE { ?a ?b ?c } ;`, 6), msgTooManySolns, 0, nil},
		{"instances summed over operations", spHead + strings.Repeat(`INSERT { ?a ex:q 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } WHERE { ?a ex:p ?c } ;`, 6), msgTooManyTriples, 0,
			&limits{solutions: 1000, instances: 1000, steps: 10_000, statements: 10_000, bytes: 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(MediaSPARQLUpdate, []byte(tc.patch), base)
			if err != nil {
				t.Fatal(err)
			}
			lim := small
			if tc.lim != nil {
				lim = *tc.lim
			}
			_, err = p.apply(context.Background(), graph, lim)
			want := wantErr{kind: Malformed, msg: tc.msg}
			if tc.col > 0 {
				want.line, want.col = 1, tc.col
			}
			checkErr(t, err, want)
			if _, err := p.Apply(graph); err != nil {
				t.Fatalf("within the default limits: %v", err)
			}
		})
	}
}

// TestResultLimits: a patch whose result would go past the limits of a
// PUT (statements, bytes) is TooLarge, found as the result grows (hostile
// review, finding 4: fresh blank nodes made a 20 KB patch write 1 M
// triples).
func TestResultLimits(t *testing.T) {
	var g strings.Builder
	for i := range 20 {
		fmt.Fprintf(&g, "<#s%d> ex:p %d.\n", i, i)
	}
	graph := turtle(t, g.String())
	lim := limits{solutions: 1000, instances: 10_000, steps: 100_000, statements: 100, bytes: 20_000}
	var fresh, long strings.Builder
	for j := range 5 {
		fmt.Fprintf(&fresh, "_:b%d ex:q ?c . ", j) // 20 solutions x 5 = 100 new triples
	}
	long.WriteString(`"` + strings.Repeat("x", 2000) + `"`)
	for _, tc := range []struct {
		name, patch, msg string
		ok               bool
	}{
		{"fresh blank nodes past the statement limit", spHead + `INSERT { ` + fresh.String() + `} WHERE { ?a ex:p ?c }`, fmt.Sprintf(msgTooManyStmts, 100), false},
		{"past the statement limit over operations", spHead + `INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c } ; INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c } ; INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c } ; INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c } ; INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c }`, fmt.Sprintf(msgTooManyStmts, 100), false},
		{"long terms past the size limit", spHead + `INSERT { ?a ex:long ` + long.String() + ` } WHERE { ?a ex:p ?c }`, fmt.Sprintf(msgTooBig, 20_000), false},
		{"within the limits", spHead + `INSERT { _:x ex:q ?c } WHERE { ?a ex:p ?c }`, "", true},
		{"deleting makes room", spHead + `DELETE { ?a ex:p ?c } INSERT { _:x ex:q ?c . _:x ex:r ?c . _:x ex:s ?c . _:x ex:t ?c } WHERE { ?a ex:p ?c }`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(MediaSPARQLUpdate, []byte(tc.patch), base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.apply(context.Background(), graph, lim)
			if tc.ok {
				if err != nil || len(got) > lim.statements {
					t.Fatalf("%d quads, %v", len(got), err)
				}
				return
			}
			checkErr(t, err, wantErr{kind: TooLarge, msg: tc.msg})
		})
	}
}

// TestOperationLimit: a SPARQL Update of more than maxOperations
// operations is Malformed and names the limit.
func TestOperationLimit(t *testing.T) {
	op := `INSERT DATA { <a> <b> <c> } ;`
	if _, err := Parse(MediaSPARQLUpdate, []byte(strings.Repeat(op, maxOperations)), base); err != nil {
		t.Fatalf("%d operations: %v", maxOperations, err)
	}
	_, err := Parse(MediaSPARQLUpdate, []byte(strings.Repeat(op, maxOperations+1)), base)
	checkErr(t, err, wantErr{kind: Malformed, msg: fmt.Sprintf(msgTooManyOps, maxOperations)})
}

// TestApplyContext: evaluation stops when the context is done.
func TestApplyContext(t *testing.T) {
	p, err := Parse(MediaSPARQLUpdate, []byte(`DELETE { ?a <n> ?c } WHERE { ?a ?b ?c . ?d ?e ?f }`), base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.ApplyContext(ctx, hostileGraph(100), DefaultMaxBytes); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}
