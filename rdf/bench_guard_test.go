package rdf

import (
	"fmt"
	"strings"
	"testing"
)

// benchEvent is a typical event as publish receives it: about 2 KB, with an
// inline context of a few terms and prefixes.
func benchEvent() []byte {
	var b strings.Builder
	b.WriteString(`{"@context": ["https://www.w3.org/ns/activitystreams", {"schema": "https://schema.org/", "xsd": "http://www.w3.org/2001/XMLSchema#",
  "name": "schema:name", "email": "schema:email", "knows": {"@id": "schema:knows", "@type": "@id"},
  "born": {"@id": "schema:birthDate", "@type": "xsd:date"}}],
 "id": "https://alice.example/events/4f7c5a0e", "type": "Create", "actor": "https://carol.example/profile/card#me",
 "published": "2024-01-02T03:04:05Z", "object": {"type": "Note", "items": [`)
	for i := 0; b.Len() < 1900; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": "https://alice.example/c/%d", "name": "Contact %d", "email": "c%d@example.org", "knows": "https://alice.example/c/%d", "born": "1990-01-%02d"}`, i, i, i, i+1, i%28+1)
	}
	b.WriteString("]}}")
	return []byte(b.String())
}

// benchContextDoc is a JSON-LD document of about size bytes with an inline
// context: a list of nodes using its terms and compact IRIs.
func benchContextDoc(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"@context": {"@vocab": "https://pod.example/ns#", "schema": "https://schema.org/", "foaf": "http://xmlns.com/foaf/0.1/",
  "name": "schema:name", "knows": {"@id": "foaf:knows", "@type": "@id"}, "Person": "schema:Person"},
 "@graph": [`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"@id": "https://pod.example/p/%d", "@type": "Person", "name": "Person %d", "knows": "https://pod.example/p/%d", "schema:height": %d, "score": %d}`, i, i, i+1, 150+i%50, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// BenchmarkParseJSONLDContext reads documents with inline contexts, as
// clients send them: what the context pre-check adds shows here.
func BenchmarkParseJSONLDContext(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"event2KB", benchEvent()}, {"doc100KB", benchContextDoc(100 << 10)}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseJSONLD(c.data, "https://pod.example/"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckContexts is the context pre-check alone, on the decoded
// documents of BenchmarkParseJSONLDContext.
func BenchmarkCheckContexts(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"event2KB", benchEvent()}, {"doc100KB", benchContextDoc(100 << 10)}} {
		doc, err := decodeJSONLD(c.data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkContexts(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
