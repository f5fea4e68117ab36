package rdf

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// contextVocab reads podserver's context as served (ContextDocument).
func contextVocab(t *testing.T) (namespaces map[string]string, aliased map[string]bool) {
	t.Helper()
	namespaces, aliased, err := ContextVocabulary(ContextDocument())
	if err != nil {
		t.Fatal(err)
	}
	return namespaces, aliased
}

// The context has a prefix for every vocabulary the Turtle writer has one
// for, with the same namespace, so that the two representations name the
// same vocabularies the same way and WriteJSONLD writes none of them in
// full.
func TestContextHasTurtlePrefixes(t *testing.T) {
	namespaces, aliased := contextVocab(t)
	for p, ns := range DefaultPrefixes() {
		if namespaces[p] != ns {
			t.Errorf("prefix %s: the context has %q, Turtle %q", p, namespaces[p], ns)
		}
	}
	if !aliased["@id"] || !aliased["@type"] {
		t.Errorf("the context does not alias @id and @type: %v", aliased)
	}
}

// WriteJSONLD writes one style whatever the graph: the aliases id and
// type, never @id or @type, and every IRI of a vocabulary the context
// knows (as a property, a type, a node, a datatype or an IRI value)
// compacted to a term or prefix; and the output is the same graph.
func TestWriteJSONLDOneStyle(t *testing.T) {
	namespaces, aliased := contextVocab(t)
	for p, ns := range DefaultPrefixes() {
		namespaces["turtle:"+p] = ns // checked even should the context lack it
	}
	const doc = "https://pod.example/alice/profile/card"
	me, key := IRI(doc+"#me"), IRI(doc+"#key")
	var quads []Quad
	// Every vocabulary: a type, a property with a literal, a property with
	// an IRI of the vocabulary, and a typed literal of it.
	for p, ns := range DefaultPrefixes() {
		s := IRI(doc + "#" + p)
		quads = append(quads,
			q(s, IRI(RDFType), IRI(ns+"Thing")),
			q(s, IRI(ns+"label"), Literal("a "+p, "")),
			q(s, IRI(ns+"ref"), IRI(ns+"Value")),
			q(s, IRI(ns+"typed"), Literal("x", ns+"Datatype")),
			q(me, IRI(ns+"knows"), s),
		)
	}
	quads = append(quads,
		q(IRI(doc), IRI(RDFType), IRI("http://xmlns.com/foaf/0.1/PersonalProfileDocument")),
		q(me, IRI(RDFType), IRI(schemaNS+"Person")),
		q(me, IRI("http://www.w3.org/ns/ldp#inbox"), IRI("https://pod.example/alice/inbox/")),
		q(me, IRI("http://www.w3.org/ns/pim/space#storage"), IRI("https://pod.example/alice/")),
		q(me, IRI("https://w3id.org/security#assertionMethod"), key),
		q(key, IRI(RDFType), IRI("https://w3id.org/security#Multikey")),
		q(key, IRI("https://w3id.org/security#controller"), me),
		q(key, IRI("https://w3id.org/security#publicKeyMultibase"), Literal("z6Mk", "")),
		q(me, IRI("http://xmlns.com/foaf/0.1/name"), LangLiteral("Alice", "en")),
		q(me, IRI(schemaNS+"birthDate"), Literal("2000-01-01", "http://www.w3.org/2001/XMLSchema#date")),
		// A blank node embedded, and one list.
		q(me, IRI("http://www.w3.org/2006/vcard/ns#hasAddress"), Blank("a")),
		q(Blank("a"), IRI(RDFType), IRI("http://www.w3.org/2006/vcard/ns#Home")),
		q(me, IRI(PodVocab+"order"), Blank("l")),
		q(Blank("l"), IRI(RDFFirst), IRI("http://www.w3.org/ns/auth/acl#Read")),
		q(Blank("l"), IRI(RDFRest), IRI(RDFNil)),
	)
	for _, base := range []string{"", doc} {
		out := jsonldRoundTrip(t, quads, base)
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		if bad := StyleViolations(v, namespaces, aliased); len(bad) > 0 {
			t.Errorf("base %q: not one style:\n%s\n%s", base, strings.Join(bad, "\n"), out)
		}
		if testing.Verbose() {
			t.Logf("%s", out)
		}
		for _, want := range []string{`"sec:assertionMethod": {`, `"type": "sec:Multikey"`, `"Person"`, `"id": "acl:Read"`} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("base %q: output lacks %s:\n%s", base, want, out)
			}
		}
	}
}

// The check finds what it is for, so that its silence above means
// something.
func TestStyleViolationsFinds(t *testing.T) {
	namespaces, aliased := contextVocab(t)
	var v any
	doc := `{"@context": {"x": "https://w3id.org/security#"}, "@graph": [{"@id": "#k", "type": "foaf:Agent",
  "https://w3id.org/security#controller": {"id": "http://xmlns.com/foaf/0.1/Agent"}, "name": "https://example.org/ok"}]}`
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	if bad := StyleViolations(v, namespaces, aliased); len(bad) != 3 {
		t.Errorf("found %d, want 3 (@id, a full key, a full IRI value):\n%s", len(bad), strings.Join(bad, "\n"))
	}
}
