package ldp

import (
	"net/http"
	"slices"
	"strings"
)

// link is one link of a Link header field (RFC 8288): its target as
// written and its relation types, lower-cased.
type link struct {
	target string
	rels   []string
}

// parseLinks reads the links of Link header values vs, as RFC 8288's
// appendix B does: a link is "<target>" followed by parameters
// ("; name=token", "; name=\"quoted\"", "; name"), links are separated by
// commas (outside the target and quoted strings), and a field may hold
// several links and a request several fields. Only the first rel
// parameter of a link counts (section 3.3); its value is a space-separated
// list of relation types. Text that is not a link is skipped up to the
// next comma, so one malformed link does not hide the others.
func parseLinks(vs []string) []link {
	var out []link
	for _, v := range vs {
		for v != "" {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				v = skipToComma(v)
				continue
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			l := link{target: strings.TrimSpace(v[1:end])}
			v = v[end+1:]
			seenRel := false
			for {
				v = strings.TrimLeft(v, " \t")
				if !strings.HasPrefix(v, ";") {
					break
				}
				var name, val string
				name, val, v = linkParam(v[1:])
				if name == "rel" && !seenRel {
					seenRel = true
					l.rels = strings.Fields(strings.ToLower(val))
				}
			}
			out = append(out, l)
			v = skipToComma(v)
		}
	}
	return out
}

// linkParam reads one parameter ("name", "name=token" or
// "name=\"quoted\"") from the start of s, after its ";", and returns its
// lower-cased name, its value and the rest of s.
func linkParam(s string) (name, val, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;,")
	if i < 0 {
		return strings.ToLower(strings.TrimSpace(s)), "", ""
	}
	name = strings.ToLower(strings.TrimSpace(s[:i]))
	if s[i] != '=' {
		return name, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if !strings.HasPrefix(s, `"`) {
		j := strings.IndexAny(s, ";,")
		if j < 0 {
			return name, strings.TrimSpace(s), ""
		}
		return name, strings.TrimSpace(s[:j]), s[j:]
	}
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '\\':
			if j+1 < len(s) {
				j++
				b.WriteByte(s[j])
			}
		case '"':
			return name, b.String(), s[j+1:]
		default:
			b.WriteByte(c)
		}
	}
	return name, b.String(), ""
}

// skipToComma returns s from the first comma outside a quoted string or
// "<...>" (or "" when there is none).
func skipToComma(s string) string {
	quoted, inTarget := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"' && !inTarget:
			quoted = !quoted
		case c == '<' && !quoted:
			inTarget = true
		case c == '>' && !quoted:
			inTarget = false
		case c == ',' && !quoted && !inTarget:
			return s[i:]
		}
	}
	return ""
}

// isContainerLink reports whether the request's Link headers ask for a
// container: a link to ldp:BasicContainer or ldp:Container with the
// relation type "type", in any form RFC 8288 allows (rel=type,
// rel="type", rel="type other", among other links).
func isContainerLink(req *http.Request) bool {
	for _, l := range parseLinks(req.Header.Values("Link")) {
		if (l.target == ldpNS+"BasicContainer" || l.target == ldpNS+"Container") && slices.Contains(l.rels, "type") {
			return true
		}
	}
	return false
}
