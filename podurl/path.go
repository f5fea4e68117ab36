package podurl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrEncodedSeparator is returned for an escaped URL path holding %2F, %5C
// or %00: decoded, they would be a segment separator, a backslash or a NUL
// inside a name, which no stored path holds.
var ErrEncodedSeparator = errors.New("encoded slashes, backslashes and NUL bytes are not allowed in paths")

// EscapePath returns the URL path of a decoded storage path (pod-relative,
// "a/b c", or absolute, "/pod/a/b c"): each segment percent-encoded as
// RFC 3986 section 3.3 allows, the "/" between segments kept. It is how
// every URL the server hands out for a stored resource is written, and
// UnescapePath reverses it exactly.
//
// Kept as they are: letters, digits, "-._~" and the delimiters
// "!$&'()*+=:@", which a path segment holds literally. Everything else is
// %XX (upper-case hex): "%", "#", "?", space, the other ASCII
// punctuation, controls and each byte of a non-ASCII UTF-8 character.
// "," and ";" are encoded too, although a segment may hold them: they
// separate links and parameters in a Link header, which clients often
// split naively. A path that needs no escaping is returned as it is.
func EscapePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !keep(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if keep(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// keep reports whether EscapePath writes byte c as it is.
func keep(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+=:@/", c) >= 0
}

// UnescapePath decodes an escaped URL path exactly once, giving the
// storage path it names. Any escape decodes (so "caf%C3%A9" and "café"
// name the same resource), except those ErrEncodedSeparator lists; a
// malformed escape ("100%", "%zz") is an error too.
func UnescapePath(escaped string) (string, error) {
	if !strings.Contains(escaped, "%") {
		return escaped, nil
	}
	low := strings.ToLower(escaped)
	if strings.Contains(low, "%2f") || strings.Contains(low, "%5c") || strings.Contains(low, "%00") {
		return "", ErrEncodedSeparator
	}
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", escaped, err)
	}
	return p, nil
}

// CanonicalURL returns URL u with its path as EscapePath writes it:
// decoded once, escaped again, so that the spellings of one resource's URL
// ("…/café", "…/caf%c3%a9", "…/caf%C3%A9", "…/a%28b%29") compare equal to
// the URL the server hands out. The scheme, authority, query and fragment
// stay as they are; u is returned unchanged when it has no "//" authority
// or its path does not decode (UnescapePath).
func CanonicalURL(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	start := i + 3
	end := len(u)
	if j := strings.IndexAny(u[start:], "?#"); j >= 0 {
		end = start + j
	}
	slash := strings.IndexByte(u[start:end], '/')
	if slash < 0 {
		return u
	}
	start += slash
	p, err := UnescapePath(u[start:end])
	if err != nil {
		return u
	}
	esc := EscapePath(p)
	if esc == u[start:end] {
		return u
	}
	return u[:start] + esc + u[end:]
}
