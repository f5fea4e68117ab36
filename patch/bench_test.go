package patch

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"podserver/rdf"
)

// bigGraph has n people with a name, an age and a friend.
func bigGraph(tb testing.TB, n int) []rdf.Quad {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<#p%d> ex:name \"P%d\"; ex:age %d; ex:knows <#p%d>.\n", i, i, i%90, (i+1)%n)
	}
	return turtle(tb, b.String())
}

// TestConcurrentApply applies one Patch from several goroutines (run with
// -race): a Patch is immutable.
func TestConcurrentApply(t *testing.T) {
	p, err := Parse(MediaSPARQLUpdate, []byte(spHead+`INSERT { ?a ex:tag [ ex:v ?n ] } WHERE { ?a ex:name ?n ; ex:age 7 }`), base)
	if err != nil {
		t.Fatal(err)
	}
	g := bigGraph(t, 200)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := p.Apply(g)
			if err != nil || len(got) != len(g)+2*3 {
				t.Errorf("Apply: %d quads, %v", len(got), err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkN3Apply(b *testing.B) {
	g := bigGraph(b, 10_000)
	p, err := Parse(MediaN3, []byte(n3Head+`<#r> a solid:InsertDeletePatch;
  solid:where { ?x ex:name "P5000"; ex:knows ?y . ?y ex:age ?a };
  solid:deletes { ?y ex:age ?a }; solid:inserts { ?y ex:age 0 }.`), base)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Apply(g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSPARQLApplyJoin(b *testing.B) {
	g := bigGraph(b, 10_000)
	p, err := Parse(MediaSPARQLUpdate, []byte(spHead+`DELETE { ?x ex:age ?a } INSERT { ?x ex:age 1 } WHERE { ?x ex:knows ?y . ?y ex:age ?a . ?x ex:age ?a2 }`), base)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Apply(g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseN3(b *testing.B) {
	var body strings.Builder
	body.WriteString(n3Head + "<#r> a solid:InsertDeletePatch; solid:inserts {\n")
	for i := range 1000 {
		fmt.Fprintf(&body, "<#p%d> ex:name \"P%d\"@en; ex:age %d; ex:knows [ ex:x <#p%d> ].\n", i, i, i, i+1)
	}
	body.WriteString("}.")
	data := []byte(body.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(MediaN3, data, base); err != nil {
			b.Fatal(err)
		}
	}
}

// hostilePatches are the costliest patches known, each as a SPARQL Update
// on a graph of n triples <urn:sI> <urn:p> <urn:oI>: the default limits
// must stop each within a small fraction of a second (BenchmarkWorstCase).
func hostilePatches() map[string]string {
	join := `DELETE { ?a <urn:none> ?c } WHERE { ?a ?b ?c . ?d ?e ?f }`
	miss := `DELETE { ?a <urn:none> ?c } WHERE { ?a <urn:p> ?c . ?c ?x ?y }`
	var tmpl strings.Builder
	for j := range 1000 {
		fmt.Fprintf(&tmpl, "_:b%d <urn:q> ?c . ", j)
	}
	grow := `INSERT { ` + tmpl.String() + `} WHERE { ?a <urn:p> ?c }`
	var rebuild []string
	for i := range maxOperations / 2 {
		rebuild = append(rebuild, fmt.Sprintf(`INSERT DATA { <urn:x> <urn:y> %d } ; DELETE { ?a <urn:none> ?b } WHERE { ?a <urn:p> ?b }`, i))
	}
	return map[string]string{
		"join":    strings.Repeat(join+" ;\n", maxOperations-1) + join,
		"miss":    strings.Repeat(miss+" ;\n", maxOperations-1) + miss,
		"grow":    strings.Repeat(grow+" ;\n", 5) + grow,
		"rebuild": strings.Join(rebuild, " ;\n"),
	}
}

// hostileGraph is the graph hostilePatches run on.
func hostileGraph(n int) []rdf.Quad {
	g := make([]rdf.Quad, n)
	for i := range g {
		g[i] = rdf.Quad{S: rdf.IRI(fmt.Sprintf("urn:s%d", i)), P: rdf.IRI("urn:p"), O: rdf.IRI(fmt.Sprintf("urn:o%d", i))}
	}
	return g
}

// BenchmarkWorstCase measures what the default limits let the costliest
// patches cost, on graphs of several sizes.
func BenchmarkWorstCase(b *testing.B) {
	for _, n := range []int{300, 10_000, 200_000} {
		g := hostileGraph(n)
		for name, body := range hostilePatches() {
			p, err := Parse(MediaSPARQLUpdate, []byte(body), base)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					_, _ = p.Apply(g)
				}
				// CPU time, which a loaded machine inflates less than the
				// wall time ns/op measures.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}
