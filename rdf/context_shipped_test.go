package rdf

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestShippedContextsProcess checks that every built-in context is JSON-LD
// json-gold processes, under its canonical URL and the forms knownContext
// also takes, without a fetch (a nil Reader loads nothing remote).
func TestShippedContextsProcess(t *testing.T) {
	for _, u := range KnownContexts() {
		forms := []string{u, strings.TrimSuffix(u, "/"), strings.Replace(u, "https://", "http://", 1)}
		for _, form := range forms {
			doc := `{"@context": "` + form + `", "@id": "https://x.example/s"}`
			if _, err := ParseJSONLD([]byte(doc), ""); err != nil {
				t.Errorf("%s: %v", form, err)
			}
		}
	}
	for _, sc := range shippedContexts {
		b, err := shippedContextFiles.ReadFile("contexts/" + sc.file)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil || doc["@context"] == nil {
			t.Errorf("%s: not a context document: %v", sc.file, err)
		}
		for _, a := range sc.aliases {
			if c, ok := knownContext(a); !ok || c != sc.uri {
				t.Errorf("alias %s names %q, want %s", a, c, sc.uri)
			}
		}
	}
}

// TestShippedContextsRDF reads documents of the kinds clients send with
// the shipped contexts and checks the statements they give.
func TestShippedContextsRDF(t *testing.T) {
	const (
		sdo    = "http://schema.org/"
		notify = "http://www.w3.org/ns/solid/notifications#"
		cred   = "https://www.w3.org/2018/credentials#"
		xsd    = "http://www.w3.org/2001/XMLSchema#"
	)
	s := IRI("https://pod.example/alice/doc#x")
	tests := []struct {
		name string
		doc  string
		want []Quad
	}{
		{"schema.org", `{"@context": "https://schema.org/", "@id": "#x", "@type": "Person", "name": "Alice"}`,
			[]Quad{q(s, IRI(RDFType), IRI(sdo+"Person")), q(s, IRI(sdo+"name"), Literal("Alice", ""))}},
		{"schema.org over http, with type and id aliases", `{"@context": "http://schema.org", "id": "#x", "type": "Message", "text": "hi"}`,
			[]Quad{q(s, IRI(RDFType), IRI(sdo+"Message")), q(s, IRI(sdo+"text"), Literal("hi", ""))}},
		{"notifications context", `{"@context": "https://www.w3.org/ns/solid/notifications-context/v1", "id": "#x",
			"type": "notify:WebSocketChannel2023", "topic": "https://pod.example/alice/", "endAt": "2030-01-01T00:00:00Z"}`,
			[]Quad{q(s, IRI(RDFType), IRI(notify+"WebSocketChannel2023")), q(s, IRI(notify+"topic"), IRI("https://pod.example/alice/")),
				q(s, IRI(notify+"endAt"), Literal("2030-01-01T00:00:00Z", xsd+"dateTime"))}},
		{"VC v1", `{"@context": ["https://www.w3.org/2018/credentials/v1"], "id": "#x", "type": ["VerifiableCredential"],
			"issuer": "https://issuer.example/", "issuanceDate": "2024-01-01T00:00:00Z"}`,
			[]Quad{q(s, IRI(RDFType), IRI(cred+"VerifiableCredential")), q(s, IRI(cred+"issuer"), IRI("https://issuer.example/")),
				q(s, IRI(cred+"issuanceDate"), Literal("2024-01-01T00:00:00Z", xsd+"dateTime"))}},
		{"VC v2", `{"@context": "https://www.w3.org/ns/credentials/v2", "id": "#x", "type": "VerifiableCredential",
			"issuer": "https://issuer.example/"}`,
			[]Quad{q(s, IRI(RDFType), IRI(cred+"VerifiableCredential")), q(s, IRI(cred+"issuer"), IRI("https://issuer.example/"))}},
	}
	for _, tc := range tests {
		got, err := ParseJSONLD([]byte(tc.doc), "https://pod.example/alice/doc")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !Isomorphic(got, tc.want) {
			t.Errorf("%s: got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}
