package rdf

import (
	"bytes"
	"errors"
	"testing"
)

func TestNegotiate(t *testing.T) {
	offers := MediaTypes() // JSON-LD, Turtle, N-Quads, N-Triples
	tests := []struct {
		accept string
		want   string
		ok     bool
	}{
		{"", MediaTypeJSONLD, true},
		{"*/*", MediaTypeJSONLD, true},
		{"*", MediaTypeJSONLD, true},
		{"text/turtle", MediaTypeTurtle, true},
		{"TEXT/Turtle; charset=utf-8", MediaTypeTurtle, true},
		{"text/*", MediaTypeTurtle, true},
		{"application/*", MediaTypeJSONLD, true},
		{"text/turtle;q=0.5, application/ld+json;q=0.9", MediaTypeJSONLD, true},
		{"text/turtle, application/ld+json;q=0.9", MediaTypeTurtle, true},
		{"application/n-quads;q=0.8, */*;q=0.1", MediaTypeNQuads, true},
		// The most specific range decides an offer's q.
		{"*/*;q=0.9, application/ld+json;q=0.1", MediaTypeTurtle, true},
		{"text/*;q=0.2, text/turtle;q=0, */*;q=0.1", MediaTypeJSONLD, true},
		// On equal q, the more specific match wins, then offer order.
		{"*/*, application/n-triples", MediaTypeNTriples, true},
		{"application/n-triples, application/n-quads", MediaTypeNQuads, true},
		// Browsers.
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", MediaTypeJSONLD, true},
		{"application/json", "", false},
		{"text/html", "", false},
		{"text/turtle;q=0", "", false},
		// Malformed ranges are ignored.
		{"garbage, text/turtle;q=abc, application/n-quads", MediaTypeNQuads, true},
		{"*/turtle", "", false},
		{"text/turtle;q=1.5", "", false},
		// A profile parameter does not stop a match.
		{`application/ld+json;profile="https://www.w3.org/ns/activitystreams"`, MediaTypeJSONLD, true},
	}
	for _, tc := range tests {
		got, ok := Negotiate(tc.accept, offers)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Negotiate(%q) = %q, %v; want %q, %v", tc.accept, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := Negotiate("*/*", nil); ok {
		t.Error("Negotiate with no offers succeeded")
	}
}

func TestParseWriteDispatch(t *testing.T) {
	quads := []Quad{
		{S: IRI("http://a/s"), P: IRI("http://a/p"), O: Literal("x", "")},
		{S: IRI("http://a/s"), P: IRI("http://a/q"), O: Blank("b")},
		{S: Blank("b"), P: IRI("http://a/r"), O: Literal("7", XSDInteger)},
	}
	named := append(quads[:3:3], Quad{S: IRI("http://a/s"), P: IRI("http://a/p"), O: IRI("http://a/o"), G: IRI("http://a/g")})
	for _, mt := range []string{MediaTypeTurtle, MediaTypeJSONLD, MediaTypeNTriples, MediaTypeNQuads, "text/turtle; charset=utf-8"} {
		var buf bytes.Buffer
		if err := Write(&buf, mt, quads, "http://a/doc"); err != nil {
			t.Fatalf("Write %s: %v", mt, err)
		}
		back, err := Parse(mt, buf.Bytes(), "http://a/doc")
		if err != nil {
			t.Fatalf("Parse %s: %v\n%s", mt, err, buf.Bytes())
		}
		if !Isomorphic(quads, back) {
			t.Errorf("%s round trip differs:\n%s", mt, buf.Bytes())
		}
		err = Write(&buf, mt, named, "")
		switch baseMediaType(mt) {
		case MediaTypeTurtle, MediaTypeNTriples:
			if !errors.Is(err, ErrNamedGraphs) {
				t.Errorf("Write %s with named graphs: err = %v", mt, err)
			}
		default:
			if err != nil {
				t.Errorf("Write %s with named graphs: %v", mt, err)
			}
		}
	}
	if _, err := Parse("application/json", []byte(`{"topic": "a/b"}`), ""); err != nil {
		t.Errorf("Parse application/json: %v", err)
	}
	if _, err := Parse("text/html", nil, ""); !errors.Is(err, ErrUnsupportedMediaType) {
		t.Errorf("Parse text/html: err = %v", err)
	}
	if err := Write(&bytes.Buffer{}, "application/json", quads, ""); !errors.Is(err, ErrUnsupportedMediaType) {
		t.Errorf("Write application/json: err = %v", err)
	}
}
