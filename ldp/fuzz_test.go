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
