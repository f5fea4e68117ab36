package ldp

import "testing"

func TestNegotiate(t *testing.T) {
	offers := []string{MediaJSONLD, MediaTurtle, MediaNTriples, MediaNQuads}
	cases := []struct {
		accept, want string
		ok           bool
	}{
		{"", MediaJSONLD, true},
		{"text/turtle", MediaTurtle, true},
		{"text/turtle;q=0.5, application/ld+json;q=0.9", MediaJSONLD, true},
		{"application/ld+json;q=0.5, text/turtle", MediaTurtle, true},
		{"*/*", MediaJSONLD, true},
		{"text/*", MediaTurtle, true},
		{"text/*;q=0.1, application/n-quads;q=0.2", MediaNQuads, true},
		{"text/html", "", false},
		{"text/turtle;q=0, */*;q=0.1", MediaJSONLD, true},
		{"text/turtle;q=0", "", false},
		{"TEXT/Turtle", MediaTurtle, true},
		{"application/*;q=0.3, text/turtle;q=0.3", MediaTurtle, true},
	}
	for _, c := range cases {
		got, ok := Negotiate(c.accept, offers)
		if got != c.want || ok != c.ok {
			t.Errorf("Negotiate(%q) = %q, %v; want %q, %v", c.accept, got, ok, c.want, c.ok)
		}
	}
}

func TestPaths(t *testing.T) {
	cases := []struct{ p, parent, name, acl string }{
		{"/alice/", "", "alice/", "/alice/.acl"},
		{"/alice/a", "/alice/", "a", "/alice/a.acl"},
		{"/alice/a/", "/alice/", "a/", "/alice/a/.acl"},
		{"/alice/a/b/c", "/alice/a/b/", "c", "/alice/a/b/c.acl"},
	}
	for _, c := range cases {
		if got := Parent(c.p); got != c.parent {
			t.Errorf("Parent(%q) = %q, want %q", c.p, got, c.parent)
		}
		if got := ACLPath(c.p); got != c.acl {
			t.Errorf("ACLPath(%q) = %q, want %q", c.p, got, c.acl)
		}
		if ACLSubject(ACLPath(c.p)) != c.p {
			t.Errorf("ACLSubject(ACLPath(%q)) = %q", c.p, ACLSubject(ACLPath(c.p)))
		}
	}
	bad := []string{"a//b", "../x", "a/./b", "a/..", "/a", "a\x01b", "a\\b"}
	for _, p := range bad {
		if CleanPath(p) == nil {
			t.Errorf("CleanPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"", "a", "a/b/", "inbox/x.acl", "a.b-c_d~e"} {
		if err := CleanPath(p); err != nil {
			t.Errorf("CleanPath(%q): %v", p, err)
		}
	}
}
