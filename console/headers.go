package console

import (
	"net/http"
	"net/url"
	"strings"
)

// setSecurityHeaders sets the headers every console response carries.
//
// The policy allows scripts, styles and images from the console's own
// origin only (no inline script or style, no eval), and requires Trusted
// Types for every DOM sink that parses HTML, with no policy allowed: an
// assignment to innerHTML throws, whatever the script. Event data is
// untrusted, and the application renders it with textContent only; these
// headers are the second line of defence. connect-src names the origins of
// the pods the console calls: its own, the configured base URL's (which may
// differ from the Host the console was loaded from), and in subdomain mode
// every pod host under it.
func setSecurityHeaders(h http.Header, info Info) {
	h.Set("Content-Security-Policy", policy(info))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// policy returns the Content-Security-Policy of the console.
func policy(info Info) string {
	connect := []string{"'self'"}
	if u, err := url.Parse(info.BaseURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && validHost(u.Host) {
		connect = append(connect, u.Scheme+"://"+u.Host)
		if info.PodNaming == "subdomain" {
			connect = append(connect, u.Scheme+"://*."+u.Host)
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")
}

// validHost reports whether host may go into the policy as is: letters,
// digits, '.', '-', ':' and the brackets of an IPv6 literal, nothing that
// could end a directive.
func validHost(host string) bool {
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)
		if !ok {
			return false
		}
	}
	return true
}

// SetSecurityHeaders sets the console's security headers on h, for other
// server pages that share its look (the identity provider's login and
// consent pages, which then widen form-action to where they post).
func SetSecurityHeaders(h http.Header, info Info) { setSecurityHeaders(h, info) }
