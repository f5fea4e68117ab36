package rdf

import "testing"

func TestResolveIRI(t *testing.T) {
	// RFC 3986 section 5.4.
	const base = "http://a/b/c/d;p?q"
	tests := map[string]string{
		"g:h": "g:h", "g": "http://a/b/c/g", "./g": "http://a/b/c/g", "g/": "http://a/b/c/g/",
		"/g": "http://a/g", "//g": "http://g", "?y": "http://a/b/c/d;p?y", "g?y": "http://a/b/c/g?y",
		"#s": "http://a/b/c/d;p?q#s", "g#s": "http://a/b/c/g#s", "g?y#s": "http://a/b/c/g?y#s",
		";x": "http://a/b/c/;x", "g;x": "http://a/b/c/g;x", "g;x?y#s": "http://a/b/c/g;x?y#s",
		"": "http://a/b/c/d;p?q", ".": "http://a/b/c/", "./": "http://a/b/c/", "..": "http://a/b/",
		"../": "http://a/b/", "../g": "http://a/b/g", "../..": "http://a/", "../../": "http://a/",
		"../../g": "http://a/g",
		// Abnormal examples.
		"../../../g": "http://a/g", "../../../../g": "http://a/g", "/./g": "http://a/g",
		"/../g": "http://a/g", "g.": "http://a/b/c/g.", ".g": "http://a/b/c/.g", "g..": "http://a/b/c/g..",
		"..g": "http://a/b/c/..g", "./../g": "http://a/b/g", "./g/.": "http://a/b/c/g/",
		"g/./h": "http://a/b/c/g/h", "g/../h": "http://a/b/c/h", "g;x=1/./y": "http://a/b/c/g;x=1/y",
		"g;x=1/../y": "http://a/b/c/y", "g?y/./x": "http://a/b/c/g?y/./x", "g?y/../x": "http://a/b/c/g?y/../x",
		"g#s/./x": "http://a/b/c/g#s/./x", "g#s/../x": "http://a/b/c/g#s/../x", "http:g": "http:g",
	}
	for ref, want := range tests {
		if got := ResolveIRI(base, ref); got != want {
			t.Errorf("ResolveIRI(%q, %q) = %q, want %q", base, ref, got, want)
		}
	}
	more := []struct{ base, ref, want string }{
		{"http://a", "b", "http://a/b"},
		{"http://a/b", "", "http://a/b"},
		{"http://a/b#f", "", "http://a/b"},
		{"http://a/b?q#f", "#g", "http://a/b?q#g"},
		{"urn:ex:x", "#y", "urn:ex:x#y"},
		{"file:///x/y", "z", "file:///x/z"},
		{"", "rel", "rel"},
		{"http://a/b", "http://c/d/../e", "http://c/e"},
	}
	for _, tc := range more {
		if got := ResolveIRI(tc.base, tc.ref); got != tc.want {
			t.Errorf("ResolveIRI(%q, %q) = %q, want %q", tc.base, tc.ref, got, tc.want)
		}
	}
}

func TestRelativeIRI(t *testing.T) {
	tests := []struct {
		base, iri, want string
		ok              bool
	}{
		{"https://p.example/profile/card", "https://p.example/profile/card", "", true},
		{"https://p.example/profile/card", "https://p.example/profile/card#me", "#me", true},
		{"https://p.example/profile/card#x", "https://p.example/profile/card#me", "#me", true},
		{"https://p.example/profile/card", "https://p.example/profile/other#k", "other#k", true},
		{"https://p.example/profile/card?q", "https://p.example/profile/card?q", "", true},
		{"https://p.example/profile/card", "https://p.example/profile/a/b", "", false},
		{"https://p.example/profile/card", "https://p.example/profile/a:b", "", false},
		{"https://p.example/profile/card", "https://p.example/profile/.x", "", false},
		{"https://p.example/profile/card", "https://p.example/profile/", "", false},
		{"https://p.example/profile/card", "https://q.example/profile/x", "", false},
		{"", "https://q.example/x", "", false},
	}
	for _, tc := range tests {
		got, ok := relativeIRI(tc.base, tc.iri)
		if got != tc.want || ok != tc.ok {
			t.Errorf("relativeIRI(%q, %q) = %q, %v; want %q, %v", tc.base, tc.iri, got, ok, tc.want, tc.ok)
		}
		if ok && ResolveIRI(tc.base, got) != tc.iri {
			t.Errorf("relativeIRI(%q, %q) = %q does not resolve back", tc.base, tc.iri, got)
		}
	}
}
