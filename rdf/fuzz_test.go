package rdf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"podserver/jsoncheck"
)

// addSuiteSeeds adds the suite's files with the given extension, if the
// suite is there.
func addSuiteSeeds(f *testing.F, ext string) {
	files, _ := filepath.Glob(filepath.Join(suiteDirPath(), "*"+ext))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
}

// FuzzTurtle checks that the Turtle reader never panics, reads the same
// from a stream in small pieces as from memory, and that whatever it reads
// WriteTurtle writes back as an isomorphic graph.
func FuzzTurtle(f *testing.F) {
	for _, seed := range []string{
		"@prefix : <http://ex/> . :s :p :o , 1 , 1.5 , 1e3 , true , \"x\"@en , [ :q ( 1 _:b ) ] .",
		"PREFIX ex: <http://ex/> BASE <http://b/> <s> a ex:T ; ex:p '''long\nstring''' .",
		"<a> <b> \"\\u00e9\\U0001F600\\t\" . _:x <p> _:x .",
		"@prefix e\u00e9: <x#> . e\u00e9:a\\.b e\u00e9:%41 e\u00e9:c.d .",
	} {
		f.Add([]byte(seed))
	}
	addSuiteSeeds(f, ".ttl")
	for _, kind := range []string{"[", "("} {
		f.Add(deepTurtle(kind, MaxDepth))
		f.Add(deepTurtle(kind, MaxDepth+1))
	}
	f.Add([]byte(strings.Repeat("[ <p> ( ", MaxDepth/2) + "1" + strings.Repeat(" ) ]", MaxDepth/2) + " <p> 1 ."))
	f.Fuzz(func(t *testing.T, data []byte) {
		const base = "http://example.org/base/doc"
		triples, err := ParseTurtle(data, base)

		// The same document read in small pieces gives the same result.
		r := NewTurtleReader(iotest.HalfReader(bytes.NewReader(data)), base)
		var streamed []Triple
		var serr error
		for {
			var tr Triple
			if tr, serr = r.Next(); serr != nil {
				break
			}
			streamed = append(streamed, tr)
		}
		if serr == io.EOF {
			serr = nil
		}
		if (err == nil) != (serr == nil) || (err != nil && err.Error() != serr.Error()) {
			t.Fatalf("in memory: %v; streamed: %v", err, serr)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, not *SyntaxError: %v", err, err)
			}
			return
		}
		if len(streamed) != len(triples) {
			t.Fatalf("in memory %d triples, streamed %d", len(triples), len(streamed))
		}
		for i := range triples {
			if triples[i] != streamed[i] {
				t.Fatalf("triple %d: in memory %v, streamed %v", i, triples[i], streamed[i])
			}
		}

		var buf bytes.Buffer
		if err := WriteTurtle(&buf, triples, nil); err != nil {
			t.Fatalf("write: %v", err)
		}
		back, err := ParseTurtle(buf.Bytes(), "")
		if err != nil {
			t.Fatalf("written Turtle does not parse: %v\n%s", err, buf.Bytes())
		}
		if !Isomorphic(triplesToQuads(triples), triplesToQuads(back)) {
			t.Fatalf("round trip differs:\n%s\nread:\n%s", buf.Bytes(), dumpTriples(triples))
		}
	})
}

// FuzzNQuads checks that the N-Quads reader never panics and that whatever
// it reads WriteNQuads writes back exactly.
func FuzzNQuads(f *testing.F) {
	for _, seed := range []string{
		"<http://a/s> <http://a/p> <http://a/o> .\n",
		"_:b <http://a/p> \"x\\n\\u00e9\"@en-GB <http://a/g> . # c\n",
		"<http://a/s> <http://a/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> _:g .\r\n",
	} {
		f.Add([]byte(seed))
	}
	addSuiteSeeds(f, ".nt")
	f.Add(nquads(chain(300)))
	f.Add(nquads(listOfLists(300)))
	f.Fuzz(func(t *testing.T, data []byte) {
		quads, err := ParseNQuads(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, not *SyntaxError: %v", err, err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteNQuads(&buf, quads); err != nil {
			t.Fatal(err)
		}
		back, err := ParseNQuads(buf.Bytes())
		if err != nil {
			t.Fatalf("written N-Quads do not parse: %v\n%s", err, buf.Bytes())
		}
		if len(back) != len(quads) {
			t.Fatalf("read %d quads back, want %d", len(back), len(quads))
		}
		for i := range quads {
			if back[i] != quads[i] {
				t.Fatalf("quad %d: wrote %v, read back %v", i, quads[i], back[i])
			}
		}
	})
}

// FuzzJSONLD checks that reading JSON-LD never panics (json-gold is third
// party code on the publish path), that errors are *JSONLDError, that
// validation agrees with reading, and that WriteJSONLD round-trips.
func FuzzJSONLD(f *testing.F) {
	for _, seed := range []string{
		`{"topic":"a/b#c","recipient":"https://x/profile/card#me","data":{"type":"AddAction","object":{"type":"Contact","name":"Bruce Wayne"}}}`,
		`[{"id":"e1","topic":"t","timestamp":"2024-01-01T00:00:00Z","items":[1,2.5,true,null,{"name":"n"}]}]`,
		`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://a/","object":{"content":"hi"}}`,
		`{"@context":{"ex":"http://ex/","l":{"@id":"ex:l","@container":"@list"}},"@id":"ex:s","l":[1,[2],{"@value":"x","@language":"en"}],"@graph":[{"@id":"ex:g"}]}`,
		`{"@context":{"@base":"http://b/"},"@id":"rel","http://p/":{"@id":"../up"},"@reverse":{"http://q/":{"@id":"r"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Add(deepJSON(jsoncheck.MaxDepth - 1))
	f.Add(deepJSON(jsoncheck.MaxDepth + 1))
	f.Add([]byte(`{"@context":{"ex":"http://ex/","l":{"@id":"ex:l","@container":"@list"}},"ex:l":` + strings.Repeat("[", 100) + "1" + strings.Repeat("]", 100) + "}"))
	f.Add([]byte("{\"name\":\"caf\xe9\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const base = "https://pod.example/publish/"
		quads, err := ParseJSONLD(data, base)
		verr := ExpandJSONLD(data, base)
		if err != nil {
			var je *JSONLDError
			if !errors.As(err, &je) {
				t.Fatalf("error is %T, not *JSONLDError: %v", err, err)
			}
			return
		}
		if verr != nil {
			t.Fatalf("ParseJSONLD accepted what ExpandJSONLD refused: %v", verr)
		}
		var buf bytes.Buffer
		if err := WriteJSONLD(&buf, quads, base); err != nil {
			t.Fatalf("write: %v", err)
		}
		back, err := ParseJSONLD(buf.Bytes(), base)
		if err != nil {
			t.Fatalf("written JSON-LD does not parse: %v\n%s", err, buf.Bytes())
		}
		if !Isomorphic(quads, back) {
			t.Fatalf("round trip differs:\n%s\nread:\n%s\nback:\n%s", buf.Bytes(), dumpQuads(quads), dumpQuads(back))
		}
	})
}

// nquads writes quads as N-Quads, for seeds.
func nquads(quads []Quad) []byte {
	var buf bytes.Buffer
	if err := WriteNQuads(&buf, quads); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// plainTerms renames the IRIs of quads (but those of RDF and XSD) to
// plain http://ex/N ones and language tags to "en": FuzzWriters is about
// the shape of graphs, and json-gold drops some IRIs that N-Quads accepts
// (such as http://www..org/x), which is a matter of its own.
func plainTerms(quads []Quad) []Quad {
	names := map[string]string{}
	plain := func(iri string) string {
		for _, ns := range []string{"http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2001/XMLSchema#"} {
			// RDF and XSD terms stay (lists, datatypes), but only with
			// plain local names: "rdf:%0X0" is one json-gold drops.
			if local, ok := strings.CutPrefix(iri, ns); ok && local != "" && strings.Trim(local, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" {
				return iri
			}
		}
		if iri == "" {
			return iri
		}
		if n, ok := names[iri]; ok {
			return n
		}
		names[iri] = "http://ex/" + itoa(len(names))
		return names[iri]
	}
	out := make([]Quad, len(quads))
	for i, q := range quads {
		ts := [4]Term{q.S, q.P, q.O, q.G}
		for j, t := range ts {
			switch t.Kind {
			case KindIRI:
				t.Value = plain(t.Value)
			case KindLiteral:
				t.Datatype = plain(t.Datatype)
				if t.Lang != "" {
					t.Lang = "en"
				}
			}
			ts[j] = t
		}
		out[i] = Quad{S: ts[0], P: ts[1], O: ts[2], G: ts[3]}
	}
	return out
}

// FuzzWriters reads any N-Quads graph (N-Quads can hold blank node chains
// and lists of any depth, flat) and checks that every writer writes it and
// that what Turtle and JSON-LD write reads back, within the readers'
// nesting limits, as the same graph.
func FuzzWriters(f *testing.F) {
	f.Add(nquads(chain(3 * maxWriteNesting)))
	f.Add(nquads(listOfLists(3 * maxWriteNesting)))
	f.Add(nquads(mixed(2 * maxWriteNesting)))
	f.Add(nquads(longList(50)))
	f.Add([]byte("_:a <http://ex/p> _:b .\n_:b <http://ex/p> _:a .\n_:a <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> _:a .\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		quads, err := ParseNQuads(data)
		if err != nil || len(quads) > 2000 {
			return
		}
		quads = plainTerms(quads)
		for _, mt := range MediaTypes() {
			var buf bytes.Buffer
			err := Write(&buf, mt, quads, "http://ex/doc")
			if errors.Is(err, ErrNamedGraphs) {
				continue
			}
			if err != nil {
				t.Fatalf("Write %s: %v", mt, err)
			}
			back, err := Parse(mt, buf.Bytes(), "http://ex/doc")
			if err != nil {
				t.Fatalf("%s output does not read back: %v\n%s", mt, err, buf.Bytes())
			}
			if !Isomorphic(quads, back) {
				t.Fatalf("%s round trip differs:\n%s", mt, buf.Bytes())
			}
		}
	})
}
