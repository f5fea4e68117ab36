package rdf

import "strings"

// iriParts is an IRI reference split as RFC 3986 Appendix B does. The has*
// fields tell an absent component from an empty one.
type iriParts struct {
	scheme, authority, path, query, fragment       string
	hasScheme, hasAuthority, hasQuery, hasFragment bool
}

// splitIRI splits an IRI reference into its components.
func splitIRI(s string) iriParts {
	var p iriParts
	if i := strings.IndexAny(s, ":/?#"); i > 0 && s[i] == ':' {
		p.scheme, p.hasScheme, s = s[:i], true, s[i+1:]
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		i := strings.IndexAny(s, "/?#")
		if i < 0 {
			i = len(s)
		}
		p.authority, p.hasAuthority, s = s[:i], true, s[i:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		p.fragment, p.hasFragment, s = s[i+1:], true, s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		p.query, p.hasQuery, s = s[i+1:], true, s[:i]
	}
	p.path = s
	return p
}

// String recomposes the IRI reference (RFC 3986 section 5.3).
func (p iriParts) String() string {
	var b strings.Builder
	b.Grow(len(p.scheme) + len(p.authority) + len(p.path) + len(p.query) + len(p.fragment) + 6)
	if p.hasScheme {
		b.WriteString(p.scheme)
		b.WriteByte(':')
	}
	if p.hasAuthority {
		b.WriteString("//")
		b.WriteString(p.authority)
	}
	b.WriteString(p.path)
	if p.hasQuery {
		b.WriteByte('?')
		b.WriteString(p.query)
	}
	if p.hasFragment {
		b.WriteByte('#')
		b.WriteString(p.fragment)
	}
	return b.String()
}

// ResolveIRI resolves the IRI reference ref against base exactly as RFC
// 3986 section 5.2 says (which differs from net/url in corner cases, for
// example "../.." above the root and empty paths with a query). An empty
// base leaves ref as it is.
func ResolveIRI(base, ref string) string {
	if base == "" {
		return ref
	}
	return resolveParts(splitIRI(base), ref)
}

// resolveParts resolves ref against an already split base.
func resolveParts(b iriParts, ref string) string {
	r := splitIRI(ref)
	if r.hasScheme && !hasDotSegments(r.path) {
		return ref // the common case: already absolute and normal
	}
	var t iriParts
	switch {
	case r.hasScheme:
		t = r
		t.path = removeDotSegments(r.path)
	case r.hasAuthority:
		t = r
		t.path = removeDotSegments(r.path)
	default:
		t.authority, t.hasAuthority = b.authority, b.hasAuthority
		switch {
		case r.path == "":
			t.path = b.path
			if r.hasQuery {
				t.query, t.hasQuery = r.query, true
			} else {
				t.query, t.hasQuery = b.query, b.hasQuery
			}
		case r.path[0] == '/':
			t.path = removeDotSegments(r.path)
			t.query, t.hasQuery = r.query, r.hasQuery
		default:
			t.path = removeDotSegments(mergePaths(b, r.path))
			t.query, t.hasQuery = r.query, r.hasQuery
		}
	}
	t.scheme, t.hasScheme = b.scheme, b.hasScheme
	if r.hasScheme {
		t.scheme = r.scheme
	}
	t.fragment, t.hasFragment = r.fragment, r.hasFragment
	return t.String()
}

// mergePaths is RFC 3986 section 5.2.3.
func mergePaths(b iriParts, ref string) string {
	if b.hasAuthority && b.path == "" {
		return "/" + ref
	}
	i := strings.LastIndexByte(b.path, '/')
	return b.path[:i+1] + ref
}

// hasDotSegments reports whether a path may contain "." or ".." segments.
func hasDotSegments(path string) bool {
	return path == "." || path == ".." || strings.HasPrefix(path, "./") ||
		strings.HasPrefix(path, "../") || strings.Contains(path, "/.")
}

// removeDotSegments is RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	if !hasDotSegments(in) {
		return in
	}
	out := make([]byte, 0, len(in))
	for len(in) > 0 {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			out = out[:lastSegmentStart(out)]
		case in == "/..":
			in = "/"
			out = out[:lastSegmentStart(out)]
		case in == "." || in == "..":
			in = ""
		default:
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				i = len(in)
			} else {
				i++
			}
			out = append(out, in[:i]...)
			in = in[i:]
		}
	}
	return string(out)
}

// lastSegmentStart returns where the last "/segment" of out begins.
func lastSegmentStart(out []byte) int {
	i := len(out) - 1
	for i >= 0 && out[i] != '/' {
		i--
	}
	if i < 0 {
		return 0
	}
	return i
}

// relativeIRI returns a short reference that resolves to iri against base,
// when it knows one that is safe: it handles the same document ("" or
// "#frag") and names in the same directory ("name", "name#frag").
func relativeIRI(base, iri string) (string, bool) {
	if base == "" {
		return "", false
	}
	b := splitIRI(base)
	if !b.hasScheme || !b.hasAuthority || b.path == "" || hasDotSegments(b.path) {
		return "", false
	}
	doc := base
	if b.hasFragment {
		doc = base[:len(base)-len(b.fragment)-1]
	}
	if iri == doc {
		return "", true
	}
	if rest, ok := strings.CutPrefix(iri, doc); ok && strings.HasPrefix(rest, "#") {
		return rest, true
	}
	dir := b.scheme + "://" + b.authority + b.path[:strings.LastIndexByte(b.path, '/')+1]
	rest, ok := strings.CutPrefix(iri, dir)
	if !ok || strings.HasPrefix(rest, ".") {
		return "", false
	}
	name := rest
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	if name == "" || strings.ContainsAny(name, "/:") {
		return "", false
	}
	return rest, true
}
