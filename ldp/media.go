package ldp

import (
	"mime"

	"podserver/rdf"
)

// RDF media types the server reads and writes.
const (
	MediaJSONLD   = rdf.MediaTypeJSONLD
	MediaTurtle   = rdf.MediaTypeTurtle
	MediaNTriples = rdf.MediaTypeNTriples
	MediaNQuads   = rdf.MediaTypeNQuads
	MediaJSON     = rdf.MediaTypeJSON
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

// Negotiate picks the offer the Accept header h prefers (q-values,
// specificity, then offer order); ok is false when none is acceptable.
func Negotiate(h string, offers []string) (string, bool) { return rdf.Negotiate(h, offers) }
