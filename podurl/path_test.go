package podurl

import (
	"errors"
	"strings"
	"testing"
)

// Each stored name has one URL form, and it names the name again.
func TestEscapePath(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"", ""},
		{"notes/a.txt", "notes/a.txt"},
		{"a#b.txt", "a%23b.txt"},
		{"q?x.txt", "q%3Fx.txt"},
		{"100%done.txt", "100%25done.txt"},
		{"draft%41.txt.acl", "draft%2541.txt.acl"},
		{"with space.txt", "with%20space.txt"},
		{"été/", "%C3%A9t%C3%A9/"},
		{"a,b;c.txt", "a%2Cb%3Bc.txt"},
		{"a\"<>^{|}`[]", "a%22%3C%3E%5E%7B%7C%7D%60%5B%5D"},
		{"x(1)+y=z@w:v!$&'*~_-.txt", "x(1)+y=z@w:v!$&'*~_-.txt"},
		{"/alice/dir #1/", "/alice/dir%20%231/"},
		{"tab\there\x7f", "tab%09here%7F"},
	} {
		got := EscapePath(tc.path)
		if got != tc.want {
			t.Errorf("EscapePath(%q) = %q, want %q", tc.path, got, tc.want)
		}
		back, err := UnescapePath(got)
		if err != nil || back != tc.path {
			t.Errorf("UnescapePath(%q) = %q, %v, want %q", got, back, err, tc.path)
		}
	}
}

func TestUnescapePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		sep, bad bool
	}{
		{in: "/alice/caf%C3%A9", want: "/alice/café"},
		{in: "/alice/caf%c3%a9", want: "/alice/café"},
		{in: "/alice/café", want: "/alice/café"},
		{in: "/alice/a+b", want: "/alice/a+b"},
		{in: "/alice/a%2541", want: "/alice/a%41"},
		{in: "/alice/a%2Fb", sep: true},
		{in: "/alice/a%2fb", sep: true},
		{in: "/alice/a%5Cb", sep: true},
		{in: "/alice/a%00b", sep: true},
		{in: "/alice/100%", bad: true},
		{in: "/alice/%zz", bad: true},
	} {
		got, err := UnescapePath(tc.in)
		switch {
		case tc.sep && !errors.Is(err, ErrEncodedSeparator):
			t.Errorf("UnescapePath(%q) = %q, %v, want ErrEncodedSeparator", tc.in, got, err)
		case tc.bad && (err == nil || errors.Is(err, ErrEncodedSeparator)):
			t.Errorf("UnescapePath(%q) = %q, %v, want a malformed-escape error", tc.in, got, err)
		case !tc.sep && !tc.bad && (err != nil || got != tc.want):
			t.Errorf("UnescapePath(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// upperHex are the digits of an escape EscapePath writes.
const upperHex = "0123456789ABCDEF"

// The URL of a stored name holds nothing a URL path does not hold as it
// is, and decodes to the name exactly once.
func FuzzEscapePath(f *testing.F) {
	for _, s := range []string{"a#b.txt", "100%25done", "été", "a b/c?d", "%2F", "\x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		esc := EscapePath(p)
		for i := 0; i < len(esc); i++ {
			c := esc[i]
			if c == '%' && i+2 < len(esc) && strings.IndexByte(upperHex, esc[i+1]) >= 0 && strings.IndexByte(upperHex, esc[i+2]) >= 0 {
				i += 2
				continue
			}
			if strings.IndexByte(pathChars, c) < 0 || c == ',' || c == ';' {
				t.Fatalf("EscapePath(%q) = %q holds %q, which it must escape", p, esc, c)
			}
		}
		back, err := UnescapePath(esc)
		if strings.ContainsAny(p, "\x00\\") {
			if !errors.Is(err, ErrEncodedSeparator) {
				t.Fatalf("UnescapePath(%q) = %q, %v: a NUL or backslash was let through", esc, back, err)
			}
			return
		}
		if err != nil || back != p {
			t.Fatalf("UnescapePath(EscapePath(%q)) = %q, %v", p, back, err)
		}
	})
}

func TestCanonicalURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/alice/caf%C3%A9":       "http://h/alice/caf%C3%A9",
		"http://h/alice/caf%c3%a9":       "http://h/alice/caf%C3%A9",
		"http://h/alice/café":            "http://h/alice/caf%C3%A9",
		"http://h/alice/a%28b%29%7E":     "http://h/alice/a(b)~",
		"http://h/alice/a%2541?x=%41#f%": "http://h/alice/a%2541?x=%41#f%",
		"http://h/alice/a b#me":          "http://h/alice/a%20b#me",
		"http://h/alice/a%2Fb":           "http://h/alice/a%2Fb", // not a storage path: as it is
		"http://h/alice/100%":            "http://h/alice/100%",
		"http://h":                       "http://h",
		"urn:x:caf%c3%a9":                "urn:x:caf%c3%a9",
	} {
		if got := CanonicalURL(in); got != want {
			t.Errorf("CanonicalURL(%q) = %q, want %q", in, got, want)
		}
	}
}
