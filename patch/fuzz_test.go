package patch

import (
	"context"
	"errors"
	"testing"

	"podserver/rdf"
)

// fuzzGraph is the small fixed graph fuzzed patches are applied to: IRIs,
// blank nodes, literals of several kinds and a quad in a named graph.
func fuzzGraph(t testing.TB) []rdf.Quad {
	g := turtle(t, `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
<#a> ex:familyName "Garcia"; ex:givenName "Claudia"; ex:age 40; ex:knows <#b>, _:b0.
<#b> ex:familyName "Lee"; ex:givenName "Bob"@en; ex:knows <#a>.
_:b0 ex:name "anon"; ex:list (1 2).
<#a> a solid:Thing.`)
	return append(g, rdf.Quad{S: rdf.IRI(base + "#a"), P: rdf.IRI(base + "#p"), O: rdf.Blank("b9"), G: rdf.IRI(base + "#g")})
}

// fuzzLimits keep each fuzzed Apply fast; the evaluation is the same.
func fuzzLimits() limits {
	return limits{solutions: 1000, instances: 10_000, steps: 100_000, statements: 10_000, bytes: 1 << 20}
}

// checkPatch parses body and, when it parses, applies it to graph, failing
// on any broken invariant.
func checkPatch(t *testing.T, mediaType, body string, graph []rdf.Quad) {
	p, err := Parse(mediaType, []byte(body), base)
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != Malformed || pe.Line < 1 && pe.Msg != msgNoPatch {
			t.Fatalf("Parse error %v is not a positioned Malformed *Error", err)
		}
		return
	}
	before := append([]rdf.Quad(nil), graph...)
	got, err := p.apply(context.Background(), graph, fuzzLimits())
	if !slicesEqual(graph, before) {
		t.Fatalf("Apply modified its input")
	}
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) || (pe.Kind != Conflict && pe.Kind != Malformed && pe.Kind != TooLarge) {
			t.Fatalf("Apply error %v is not an *Error", err)
		}
		return
	}
	checkSet(t, got)
	for _, q := range graph {
		if !q.G.IsZero() && !containsQuad(got, q) {
			t.Fatalf("named-graph quad %v lost", q)
		}
	}
	for _, q := range got {
		if q.G.IsZero() && ((q.S.Kind != rdf.KindIRI && q.S.Kind != rdf.KindBlank) || q.P.Kind != rdf.KindIRI || q.O.IsZero()) {
			t.Fatalf("invalid triple in result: %#v", q)
		}
	}
	_ = p.Inserts()
	_ = p.Deletes()
}

func containsQuad(g []rdf.Quad, q rdf.Quad) bool {
	for _, x := range g {
		if x == q {
			return true
		}
	}
	return false
}

func FuzzN3Patch(f *testing.F) {
	for _, s := range []string{
		n3Head + `_:rename a solid:InsertDeletePatch;
  solid:where   { ?person ex:familyName "Garcia". };
  solid:inserts { ?person ex:givenName "Alex". };
  solid:deletes { ?person ex:givenName "Claudia". }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:knows ?y . ?y ex:knows ?x }; solid:inserts { ?x ex:friend [ ex:of ?y ] }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:deletes { <#b> ex:givenName "Bob"@en }; solid:inserts { <#b> ex:givenName "Robert"^^ex:t, 1.5e3, (1 2 <#c>) }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:age 40 }; solid:inserts { ?x ex:age 41 }; solid:deletes { ?x ex:age 40 }.`,
		"@base <http://x/> . PREFIX solid: <http://www.w3.org/ns/solid/terms#>\n[] a solid:InsertDeletePatch; solid:inserts { <a> <b> '''c''' }.",
		n3Head + `{ ?a ?b ?c } => { ?a ?b ?c }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> { <#c> <#d> <#e> } }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> ` + repeat("[ <#b> ", maxDepth-1) + "1" + repeat(" ]", maxDepth-1) + ` }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> ` + repeat("( ", maxDepth) + "1" + repeat(" )", maxDepth) + ` }.`,
		n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ` + repeat("{ ", 2*maxDepth) + ` }.`,
		"",
	} {
		f.Add(s)
	}
	graph := fuzzGraph(f)
	f.Fuzz(func(t *testing.T, body string) {
		checkPatch(t, MediaN3, body, graph)
	})
}

func FuzzSPARQLUpdate(f *testing.F) {
	for _, s := range []string{
		spHead + `INSERT DATA { <#dan> ex:givenName "Dan"; ex:knows [ ex:name "x" ], (1 2) }`,
		spHead + `DELETE DATA { <#a> ex:age 40 . <#b> ex:givenName "Bob"@en }`,
		spHead + `DELETE { ?p ex:familyName ?n } INSERT { ?p ex:name ?n; ex:k [ ex:z 1 ] } WHERE { ?p ex:familyName ?n }`,
		spHead + `DELETE WHERE { ?a ex:knows ?b . ?b ex:knows ?a }`,
		spHead + `INSERT { ?a ex:x _:n . _:n ex:y ?b } WHERE { ?a ex:knows _:z . _:z ex:name ?b } ; DELETE DATA { <#a> ex:age 40 } ;`,
		"BASE <http://x/y/> PREFIX : <#> INSERT DATA { <../z> :p 'q'@en-GB, true, -1.5, .5e-2 }",
		spHead + `DELETE { ?a ?b ?c } WHERE { ?a ?b ?c OPTIONAL { ?a ex:p ?d } FILTER(?c > 1) }`,
		`WITH <g> DELETE { ?a <b>/<c> ?d } USING <x> WHERE { GRAPH ?g { ?a ?b ?c } }`,
		spHead + `INSERT DATA { <#a> ex:p ` + repeat("( [ ex:q ", maxDepth/2) + "1" + repeat(" ] )", maxDepth/2) + ` }`,
		spHead + `DELETE { ?a ex:p ?b } WHERE { ?a ex:p ` + repeat("[ ex:q ", maxDepth) + "?b" + repeat(" ]", maxDepth) + ` }`,
		"",
	} {
		f.Add(s)
	}
	graph := fuzzGraph(f)
	f.Fuzz(func(t *testing.T, body string) {
		checkPatch(t, MediaSPARQLUpdate, body, graph)
	})
}
