package idp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"podserver/solidoidc"
)

// FuzzParseMetadata: what ParseMetadata accepts has 1 to 16 redirect
// URIs, each https or loopback http, and never panics.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris": ["https://app.example/cb"], "client_name": "App"}`,
		`{"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}`,
		`{"redirect_uris": ["http://evil.example/cb"]}`,
		`{"redirect_uris": []}`,
		`{"redirect_uris": ["https://a/#f"], "logo_uri": "javascript:alert(1)"}`,
		`{"@context": "x", "client_id": "https://a/id", "redirect_uris": ["https://a/cb"]} {}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err != nil {
			return
		}
		if len(m.RedirectURIs) == 0 || len(m.RedirectURIs) > maxRedirectURIs {
			t.Fatalf("accepted %d redirect URIs", len(m.RedirectURIs))
		}
		for _, u := range m.RedirectURIs {
			if solidoidc.CheckSecureURL(u) != nil {
				t.Fatalf("accepted redirect URI %q", u)
			}
		}
	})
}

// FuzzParsePasswordBody: an accepted password has 12 to 1024 bytes of
// valid UTF-8 and at least 12 characters.
func FuzzParsePasswordBody(f *testing.F) {
	for _, s := range []string{`{"password": "correct horse battery"}`, `{"password": "short"}`, `{"password": null}`,
		`{"password": "` + strings.Repeat("a", 1025) + `"}`, `{"pw": "x"}`, `{"password": "ééééééééééééé"} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pw, err := ParsePasswordBody(b)
		if err != nil {
			return
		}
		if len(pw) > MaxPasswordBytes || utf8.RuneCountInString(pw) < MinPasswordChars || !utf8.ValidString(pw) {
			t.Fatalf("accepted password of %d bytes", len(pw))
		}
	})
}

// FuzzParseClientBody: an accepted name is 1 to 100 printable characters.
func FuzzParseClientBody(f *testing.F) {
	for _, s := range []string{`{"name": "backup"}`, `{"name": ""}`, `{"name": "a\u0000b"}`, `{"name": 3}`, `{}`, `{"name": "x", "extra": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseClientBody(b)
		if err != nil {
			return
		}
		if n == "" || utf8.RuneCountInString(n) > maxClientName || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted name %q", n)
		}
	})
}
