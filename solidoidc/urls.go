package solidoidc

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckSecureURL returns nil when raw is an absolute https URL, or an
// http URL whose host is loopback (127.0.0.0/8, ::1) or localhost (or
// below .localhost): what issuers, WebIDs and Client ID Documents must
// be. It refuses userinfo.
func CheckSecureURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute URL with a host and no userinfo", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q is not https (http only for loopback and localhost)", raw)
	}
	return fmt.Errorf("%q is not an https URL", raw)
}

// IsLoopbackHost reports whether host (without port) is localhost, a name
// below .localhost, or a loopback IP address.
func IsLoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// normalizeHTU returns raw in the form htu values are compared in:
// scheme and host in lower case, no default port, the path
// percent-decoded ("" as "/"), no query and no fragment (RFC 9449 section
// 4.3 compares ignoring them; syntax-based normalization per RFC 3986
// section 6.2.2). ok is false when raw is not an absolute http(s) URL.
func normalizeHTU(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "http" && p == "80") || (scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	path := u.Path // decoded
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// sameIssuer compares two issuer identifiers, ignoring one trailing slash
// (profiles and tokens of deployed servers disagree on it).
func sameIssuer(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}
