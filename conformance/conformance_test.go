package conformance

import (
	"testing"

	"podserver/rdf"
)

// The processors read Turtle and JSON-LD into the same graph, and refuse a
// context they cannot fetch.
func TestParse(t *testing.T) {
	const base = "http://example.org/doc"
	ttl, err := Parse(t, "text/turtle", base, []byte(`@prefix ex: <http://e/> . <#a> ex:p "x" ; ex:q [ ex:r 1 ] .`), "")
	if err != nil {
		t.Fatal(err)
	}
	jl, err := Parse(t, "application/ld+json", base, []byte(`{"@context": {"ex": "http://e/"}, "@id": "#a", "ex:p": "x", "ex:q": {"ex:r": 1}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ttl) != 3 || !rdf.Isomorphic(ttl, jl) {
		t.Errorf("Turtle gave %v, JSON-LD %v: want the same 3 statements", ttl, jl)
	}
	if _, err := Parse(t, "application/ld+json", base, []byte(`{"@context": "http://127.0.0.1:9/none", "@id": "#a"}`), ""); err == nil {
		t.Error("a context that cannot be fetched was accepted")
	}
}
