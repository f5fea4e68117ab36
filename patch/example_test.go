package patch_test

import (
	"fmt"

	"podserver/patch"
	"podserver/rdf"
)

func Example() {
	const doc = "http://pod.example/alice/profile"
	triples, _ := rdf.ParseTurtle([]byte(`<#me> <http://xmlns.com/foaf/0.1/name> "Alice".`), doc)
	var graph []rdf.Quad
	for _, t := range triples {
		graph = append(graph, rdf.Quad{S: t.S, P: t.P, O: t.O})
	}

	p, err := patch.Parse(patch.MediaN3, []byte(`
@prefix solid: <http://www.w3.org/ns/solid/terms#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#rename> a solid:InsertDeletePatch;
  solid:where   { ?me foaf:name "Alice" };
  solid:deletes { ?me foaf:name "Alice" };
  solid:inserts { ?me foaf:name "Alicia" }.`), doc)
	if err != nil {
		fmt.Println(err) // a *patch.Error of kind Malformed: answer 422
		return
	}
	fmt.Println("needs read:", p.Deletes(), "appends:", p.Inserts())
	graph, err = p.Apply(graph)
	if err != nil {
		fmt.Println(err) // a *patch.Error of kind Conflict: answer 409
		return
	}
	for _, q := range graph {
		fmt.Println(q)
	}

	_, err = p.Apply(graph) // "Alice" is gone: the where clause no longer matches
	fmt.Println(err)
	// Output:
	// needs read: true appends: true
	// <http://pod.example/alice/profile#me> <http://xmlns.com/foaf/0.1/name> "Alicia" .
	// patch conflict at line 5, column 17: solid:where has no match in the resource
}
