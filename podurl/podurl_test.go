package podurl

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "a": true, "0": true, "bob-2": true, strings.Repeat("a", 63): true,
		"": false, strings.Repeat("a", 64): false, "-a": false, "Alice": false, "a_b": false, "a.b": false,
		"a/b": false, "é": false, "metrics": false, "console": false, "healthz": false, "admin": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
	if !Reserved("ns") || Reserved("alice") {
		t.Error("Reserved")
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"alice", "-x", "metrics", "a-", strings.Repeat("z", 63)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !ValidName(name) {
			return
		}
		// A valid name is one DNS label and one path segment as it is.
		if len(name) > MaxNameLen || strings.ContainsAny(name, "/.%?#_ ") || strings.ToLower(name) != name || Reserved(name) {
			t.Fatalf("ValidName(%q) accepted", name)
		}
	})
}

func TestScheme(t *testing.T) {
	path, err := New("http://Example.org:8080/", "")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := New("https://example.org", ModeSubdomain)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s          Scheme
		name, root string
	}{
		{path, "alice", "http://example.org:8080/alice/"},
		{sub, "alice", "https://alice.example.org/"},
	} {
		if got := tc.s.PodRoot(tc.name); got != tc.root {
			t.Errorf("PodRoot = %q, want %q", got, tc.root)
		}
		if got := tc.s.WebID(tc.name); got != tc.root+"profile/card#me" {
			t.Errorf("WebID = %q", got)
		}
		pod, rel, ok := tc.s.PodOfURL(tc.s.WebID(tc.name))
		if !ok || pod != tc.name || rel != "profile/card" {
			t.Errorf("PodOfURL(WebID) = %q %q %v", pod, rel, ok)
		}
	}
	if path.Base() != "http://example.org:8080" || path.Mode() != ModePath || sub.Mode() != ModeSubdomain || sub.URLScheme() != "https" {
		t.Errorf("Base %q Mode %q/%q", path.Base(), path.Mode(), sub.Mode())
	}
	for _, tc := range []struct {
		s  Scheme
		u  string
		ok bool
	}{
		{path, "http://EXAMPLE.org:8080/bob/inbox/", true},
		{path, "https://example.org:8080/bob/inbox/", false}, // another scheme
		{path, "http://example.org/bob/inbox/", false},       // another port
		{path, "http://example.org:8080/bob", false},         // the pod root needs its slash
		{path, "http://example.org:8080/metrics/x", false},   // reserved
		{path, "http://example.org:8080/Bob/x", false},
		{sub, "https://bob.example.org/inbox/", true},
		{sub, "https://example.org/bob/inbox/", false},
		{sub, "https://a.bob.example.org/", false},
		{Scheme{}, "http://example.org:8080/bob/", false},
		{path, "::not a url", false},
	} {
		if _, _, ok := tc.s.PodOfURL(tc.u); ok != tc.ok {
			t.Errorf("%s PodOfURL(%q) ok = %v, want %v", tc.s.Base(), tc.u, ok, tc.ok)
		}
	}
	if s, ok := sub.PodOfHost("Bob.Example.org"); !ok || s != "bob" {
		t.Errorf("PodOfHost = %q %v", s, ok)
	}
	if _, ok := path.PodOfHost("bob.example.org:8080"); ok {
		t.Error("PodOfHost in path mode")
	}
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://x/p", "http://x?q", "http://u@x", "http:///"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := New("http://x", "dns"); err == nil {
		t.Error("New accepted mode dns")
	}
}

// pathChars are the characters a URL path holds unescaped (RFC 3986
// pchar and "/").
const pathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"

// URL and PodOfURL are inverse for every valid name in both modes and
// every storage path (one without NUL or backslash, which no stored path
// holds); a path of plain URL characters is its own URL.
func FuzzScheme(f *testing.F) {
	for _, s := range []string{"alice", "a-b", "0"} {
		f.Add(s, "rest/of/path", false)
		f.Add(s, "a#b?c%d e/é", true)
	}
	f.Fuzz(func(t *testing.T, name, rel string, subdomain bool) {
		if !ValidName(name) || strings.ContainsAny(rel, "\x00\\") {
			return // not a pod, or not a storage path
		}
		mode := ModePath
		if subdomain {
			mode = ModeSubdomain
		}
		s, err := New("http://example.org:8080", mode)
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL(name, rel)
		pod, got, ok := s.PodOfURL(u)
		if !ok || pod != name || got != rel {
			t.Fatalf("PodOfURL(URL(%q, %q)) = %q %q %v", name, rel, pod, got, ok)
		}
		if strings.Trim(rel, pathChars) == "" && !strings.ContainsAny(rel, ",;") && u != s.PodRoot(name)+rel {
			t.Fatalf("URL(%q, %q) = %q, escaped a plain path", name, rel, u)
		}
	})
}

// A server on loopback is named by localhost and 127.0.0.1 alike, and by
// the aliases it is given; it only ever writes its base host.
func TestSchemeAliases(t *testing.T) {
	local, err := New("http://localhost:8080", ModePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/alice/x", "http://[::1]:8080/alice/x", "http://LOCALHOST:8080/alice/x"} {
		if p, _, ok := local.PodOfURL(u); !ok || p != "alice" {
			t.Errorf("PodOfURL(%q) = %q %v, want alice", u, p, ok)
		}
	}
	if _, _, ok := local.PodOfURL("http://127.0.0.1:9090/alice/x"); ok {
		t.Error("another port is another server")
	}
	pub, err := New("https://pods.example", ModeSubdomain)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := pub.PodOfURL("https://alice.pods.internal/x"); ok {
		t.Error("an unlisted host is another server")
	}
	pub, err = pub.WithAliases("pods.internal", "https://old.example/")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://alice.pods.internal/x", "https://alice.old.example/x", "https://alice.pods.example/x"} {
		if p, _, ok := pub.PodOfURL(u); !ok || p != "alice" {
			t.Errorf("PodOfURL(%q) = %q %v, want alice", u, p, ok)
		}
	}
	if sub, ok := pub.PodOfHost("bob.OLD.example"); !ok || sub != "bob" {
		t.Errorf("PodOfHost by alias = %q %v", sub, ok)
	}
	if pub.PodRoot("alice") != "https://alice.pods.example/" {
		t.Errorf("PodRoot %q: the base host, never an alias", pub.PodRoot("alice"))
	}
	for _, bad := range []string{"", "a/b", "ftp://", "x y"} {
		if _, err := pub.WithAliases(bad); err == nil {
			t.Errorf("WithAliases(%q) accepted", bad)
		}
	}
	for u, want := range map[string]string{
		"http://localhost:8080/alice/profile/card#me":   "alice",
		"http://127.0.0.1:8080/bob/profile/card#me":     "bob",
		"http://localhost:8080/alice/profile/card":      "",
		"http://localhost:8080/alice/profile/card#it":   "",
		"http://localhost:8080/alice/#me":               "",
		"http://localhost:8080/alice/profile/card?x#me": "",
		"http://elsewhere/alice/profile/card#me":        "",
	} {
		if p, ok := local.PodOfWebID(u); p != want || ok != (want != "") {
			t.Errorf("PodOfWebID(%q) = %q %v, want %q", u, p, ok, want)
		}
	}
}
