package netguard

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckURL checks that CheckURL accepts only absolute http(s) URLs
// with a host and no userinfo.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://a.example/inbox/", "http://u:p@a.example/", "ftp://x/", "//a.example/", "http://[::1]:80/", "HTTP://A.EXAMPLE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckURL(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		if sc := strings.ToLower(u.Scheme); (sc != "http" && sc != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q", s)
		}
	})
}
