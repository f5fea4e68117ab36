package ldp

import (
	"slices"
	"strings"
	"testing"
)

// FuzzCleanPath: an accepted path has no empty, "." or ".." segment and no
// control character, and its parent chain ends at the pod root.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"", "a", "a/", "a/b/c", "a/../b", "./a", "a//b", "a/b/.", "\x00", "a\\b", "inbox/x.acl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		if err := CleanPath(rel); err != nil {
			return
		}
		for _, seg := range strings.Split(strings.TrimSuffix(rel, "/"), "/") {
			if rel != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("accepted %q with segment %q", rel, seg)
			}
		}
		if strings.ContainsAny(rel, "\x00\\") {
			t.Fatalf("accepted %q", rel)
		}
		p := StoragePath("alice", rel)
		for i := 0; p != "" && i < 1000; i++ {
			if !strings.HasPrefix(p, "/alice/") {
				t.Fatalf("parent chain of %q left the pod: %q", rel, p)
			}
			p = Parent(p)
		}
	})
}

// FuzzNegotiate: the answer is one of the offers, and ok is false only with
// an empty answer.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*/*", "text/turtle;q=0.9, application/ld+json", "text/*;q=0", "application/json;q=abc", ",,,;", "a/b;q=1.5"} {
		f.Add(s)
	}
	offers := append(append([]string(nil), rdfTypes...), MediaJSON)
	f.Fuzz(func(t *testing.T, accept string) {
		got, ok := Negotiate(accept, offers)
		if ok && !slices.Contains(offers, got) {
			t.Fatalf("Negotiate(%q) = %q, not an offer", accept, got)
		}
		if !ok && got != "" {
			t.Fatalf("Negotiate(%q) = %q but not ok", accept, got)
		}
	})
}

// FuzzParseLinks: any Link header reads without panic into links whose
// targets hold no ">" and whose relation types are lower-case words; a
// well-formed link after any field is found.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{"", `<a>; rel="type"`, `<a>; rel=type, <b>`, `junk, "<x>"; rel=`, `<a>; t="\"", <b>`, `<a`, `;;,,<>`} {
		f.Add(s, "http://www.w3.org/ns/ldp#BasicContainer")
	}
	f.Fuzz(func(t *testing.T, field, target string) {
		for _, l := range parseLinks([]string{field}) {
			if strings.Contains(l.target, ">") {
				t.Fatalf("parseLinks(%q): target %q holds >", field, l.target)
			}
			for _, r := range l.rels {
				if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, " \t") {
					t.Fatalf("parseLinks(%q): relation type %q", field, r)
				}
			}
		}
		if strings.ContainsAny(target, "<>") || strings.TrimSpace(target) != target {
			return
		}
		got := parseLinks([]string{field, "<" + target + `>; rel="type"`})
		if n := len(got); n == 0 || got[n-1].target != target || !slices.Equal(got[n-1].rels, []string{"type"}) {
			t.Fatalf("parseLinks(%q, <%s>; rel=\"type\") = %v: the last link is lost", field, target, got)
		}
	})
}
