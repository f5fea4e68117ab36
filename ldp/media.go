package ldp

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// RDF media types the server reads and writes.
const (
	MediaJSONLD    = "application/ld+json"
	MediaTurtle    = "text/turtle"
	MediaNTriples  = "application/n-triples"
	MediaNQuads    = "application/n-quads"
	MediaJSON      = "application/json"
	mediaSPARQLUpd = "application/sparql-update"
	mediaN3        = "text/n3"
)

// rdfTypes lists the RDF media types in the order offered when the client
// has no preference.
var rdfTypes = []string{MediaJSONLD, MediaTurtle, MediaNTriples, MediaNQuads}

// IsRDF reports whether media type mt (without parameters) is an RDF
// serialization the server understands.
func IsRDF(mt string) bool {
	for _, t := range rdfTypes {
		if mt == t {
			return true
		}
	}
	return false
}

// ParseContentType returns the media type of a Content-Type header value,
// lower-cased and without parameters, and the value normalised for storage
// (parameters kept for non-RDF types).
func ParseContentType(v string) (mt, stored string, err error) {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return "", "", err
	}
	if IsRDF(mt) || len(params) == 0 {
		return mt, mt, nil
	}
	return mt, mime.FormatMediaType(mt, params), nil
}

type acceptRange struct {
	typ, sub string
	q        float64
	order    int
}

// parseAccept parses an Accept header. Malformed ranges are skipped.
func parseAccept(h string) []acceptRange {
	var out []acceptRange
	for i, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := 1.0
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && x >= 0 && x <= 1 {
					q = x
				} else {
					q = 0
				}
			}
		}
		out = append(out, acceptRange{typ: typ, sub: sub, q: q, order: i})
	}
	return out
}

// Negotiate picks the offer the Accept header h prefers: for each offer the
// most specific matching range decides its q-value; the highest q wins, ties
// go to the earlier offer. An empty header accepts the first offer. ok is
// false when no offer is acceptable (q > 0).
func Negotiate(h string, offers []string) (string, bool) {
	if strings.TrimSpace(h) == "" {
		if len(offers) == 0 {
			return "", false
		}
		return offers[0], true
	}
	ranges := parseAccept(h)
	// Most specific ranges first, so the first match decides.
	sort.SliceStable(ranges, func(i, j int) bool { return specificity(ranges[i]) > specificity(ranges[j]) })
	best, bestQ := "", 0.0
	for _, o := range offers {
		typ, sub, _ := strings.Cut(o, "/")
		for _, r := range ranges {
			if (r.typ == "*" || r.typ == typ) && (r.sub == "*" || r.sub == sub) {
				if r.q > bestQ {
					best, bestQ = o, r.q
				}
				break
			}
		}
	}
	return best, bestQ > 0
}

func specificity(r acceptRange) int {
	switch {
	case r.typ == "*":
		return 0
	case r.sub == "*":
		return 1
	}
	return 2
}
