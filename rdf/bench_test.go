package rdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"podserver/jsoncheck"
)

// benchTurtle generates a realistic Turtle document of about size bytes:
// prefixes, many subjects with types, strings (some language-tagged, some
// with escapes, some long), numbers, dates, links between subjects and
// blank nodes for addresses.
func benchTurtle(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`@prefix schema: <https://schema.org/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix ldp: <http://www.w3.org/ns/ldp#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix pod: <https://w3id.org/podserver/ns#> .
@prefix ex: <https://pod.example/people/> .
@base <https://pod.example/> .

`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "ex:person%d a schema:Person, foaf:Person ;\n", i)
		fmt.Fprintf(&b, "    schema:name \"Person number %d\" ;\n", i)
		fmt.Fprintf(&b, "    foaf:nick \"p%d\"@en, \"pé%d\"@fr ;\n", i, i)
		fmt.Fprintf(&b, "    schema:birthDate \"19%02d-0%d-1%d\"^^xsd:date ;\n", i%100, i%9+1, i%10)
		fmt.Fprintf(&b, "    schema:height %d.%d ; schema:weight %d ; pod:score %de-3 ; pod:active %t ;\n", 150+i%50, i%10, 50+i%60, i, i%2 == 0)
		fmt.Fprintf(&b, "    schema:knows ex:person%d, <people/person%d> ;\n", (i+1)*7%1000, (i+3)*13%1000)
		fmt.Fprintf(&b, "    schema:address [ a schema:PostalAddress ; schema:streetAddress \"%d Main St\\nApt %d\" ;\n", i, i%40)
		b.WriteString("        schema:addressCountry \"UK\" ] ;\n")
		if i%10 == 0 {
			fmt.Fprintf(&b, "    schema:description \"\"\"A longer description\nof person %d, with \"quotes\" and a tab\t.\"\"\" ;\n", i)
		}
		fmt.Fprintf(&b, "    ldp:inbox <https://pod.example/people/person%d/inbox/> .\n\n", i)
	}
	return b.Bytes()
}

const benchSize = 10 << 20

func BenchmarkParseTurtle(b *testing.B) {
	data := benchTurtle(benchSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r := NewTurtleReader(bytes.NewReader(data), "https://pod.example/doc")
		n = 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n), "triples")
}

func BenchmarkWriteTurtle(b *testing.B) {
	data := benchTurtle(benchSize)
	triples, err := ParseTurtle(data, "https://pod.example/doc")
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteTurtle(&out, triples, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(out.Len()))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if err := WriteTurtle(&out, triples, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNQuads(b *testing.B) {
	triples, err := ParseTurtle(benchTurtle(benchSize), "https://pod.example/doc")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteNTriples(&buf, triples); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNQuads(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExpandJSONLD(b *testing.B) {
	event := []byte(`{"id": "4f7c5a0e-6b1d-4a8e-9f2a-1c3d5e7f9a0b", "topic": "realestate/contact#add",
  "recipient": "https://bob.example/profile/card#me", "source": "https://carol.example/profile/card#me",
  "timestamp": "2024-01-02T03:04:05Z",
  "data": {"type": "AddAction", "object": {"type": "Contact", "name": "Bruce Wayne", "email": "bruce@wayne.example"}}}`)
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ExpandJSONLD(event, "https://alice.example/publish/"); err != nil {
			b.Fatal(err)
		}
	}
}

// deepBody repeats a statement nesting kind ("[" or "(") MaxDepth deep
// until it holds about size bytes: the deepest body a client may send.
func deepBody(kind string, size int) []byte {
	unit := deepTurtle(kind, MaxDepth)
	return bytes.Repeat(unit, size/len(unit))
}

// BenchmarkParseTurtleDeep reads 10 MB nested as deep as the limit allows,
// streaming (as a validation would) and whole (as ParseTurtle does).
func BenchmarkParseTurtleDeep(b *testing.B) {
	for _, kind := range []string{"[", "("} {
		data := deepBody(kind, benchSize)
		b.Run("stream"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r := NewTurtleReader(bytes.NewReader(data), "")
				for {
					if _, err := r.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run("whole"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseTurtle(data, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseJSONLDDeep reads 1 MB of JSON-LD objects nested as deep as
// jsoncheck allows, against the same size nested 2 deep: depth costs
// nothing extra (json-gold's own speed dominates).
func BenchmarkParseJSONLDDeep(b *testing.B) {
	for _, depth := range []int{2, jsoncheck.MaxDepth - 2} {
		d := deepJSON(depth)
		data := []byte("[" + strings.TrimSuffix(strings.Repeat(string(d)+",", (1<<20)/(len(d)+1)), ",") + "]")
		b.Run("depth"+itoa(depth), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseJSONLD(data, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
