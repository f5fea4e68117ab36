package rdf

import (
	"bytes"
	"testing"
)

// Portable rewrites only the context references naming ContextURI, adds a
// context where there is none, and leaves the graph as podserver reads it.
func TestPortable(t *testing.T) {
	const served = "http://pod.test/ns/v1"
	const base = "http://pod.test/alice/doc"
	for _, c := range []struct{ in, want string }{
		{`{"@context": "https://w3id.org/podserver/v1", "topic": "t"}`, `{"@context": "` + served + `", "topic": "t"}`},
		{`{"topic": "t"}`, `{"@context":"` + served + `","topic": "t"}`},
		{`{}`, `{"@context":"` + served + `"}`},
		{`[{"topic": "t"}]`, `{"@context":"` + served + `","@graph":[{"topic": "t"}]}`},
		{`{"@context": ["http://w3id.org/podserver/v1/", {"x": "http://e/x"}], "x": 1, "data": {"@context": "https://w3id.org/podserver/v1", "topic": "u"}}`,
			`{"@context": ["` + served + `", {"x": "http://e/x"}], "x": 1, "data": {"@context": "` + served + `", "topic": "u"}}`},
		{`{"@context": {"@vocab": "http://e/"}, "topic": "https://w3id.org/podserver/v1"}`, `{"@context": {"@vocab": "http://e/"}, "topic": "https://w3id.org/podserver/v1"}`},
		{`"x"`, `"x"`},
	} {
		got := Portable([]byte(c.in), served)
		if string(got) != c.want {
			t.Errorf("Portable(%s) = %s, want %s", c.in, got, c.want)
			continue
		}
		if c.in[0] == '"' {
			continue
		}
		before, err1 := ParseJSONLD([]byte(c.in), base)
		after, err2 := ParseJSONLD(got, base)
		if err1 != nil || err2 != nil || !Isomorphic(before, after) {
			t.Errorf("%s: graph changed: %v %v\n%v\n%v", c.in, err1, err2, before, after)
		}
		inline := PortableInline([]byte(c.in))
		if !bytes.Contains(inline, InlineContext()) && bytes.Contains([]byte(c.want), []byte(served)) {
			t.Errorf("PortableInline(%s) = %s: context not inline", c.in, inline)
		}
		if in, err := ParseJSONLD(inline, base); err != nil || !Isomorphic(before, in) {
			t.Errorf("PortableInline(%s): graph changed: %v\n%v\n%v", c.in, err, before, in)
		}
	}
}

// A document names this server's context without a network fetch; another
// server's is unknown.
func TestLocalContext(t *testing.T) {
	for _, c := range []struct {
		ctx, base string
		ok        bool
	}{
		{"http://pod.test/ns/v1", "http://pod.test/alice/x", true},
		{"http://pod.test/ns/v1/listing", "http://pod.test/alice/inbox/", true},
		{"http://pod.test/ns/v1", "http://alice.pod.test/x", true},
		{"http://other.test/ns/v1", "http://pod.test/alice/x", false},
		{"https://pod.test/ns/v1", "http://pod.test/alice/x", false},
		{"http://pod.test/ns/v2", "http://pod.test/alice/x", false},
	} {
		doc := `{"@context": "` + c.ctx + `", "topic": "t"}`
		q, err := ParseJSONLD([]byte(doc), c.base)
		if c.ok != (err == nil) || (c.ok && len(q) != 1) {
			t.Errorf("%s at %s: %v %v, want ok=%v", c.ctx, c.base, q, err, c.ok)
		}
	}
	if !IsPodserverContext([]byte(`"https://w3id.org/podserver/v1"`)) || !IsPodserverContext(InlineContext()) || IsPodserverContext([]byte(`"https://www.w3.org/ns/activitystreams"`)) {
		t.Error("IsPodserverContext")
	}
}
