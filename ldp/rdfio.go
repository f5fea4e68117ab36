package ldp

import (
	"bytes"

	"podserver/patch"
	"podserver/rdf"
)

// parseRDF reads body of media type mt into quads, relative IRIs resolved
// against base.
func parseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	return rdf.Parse(mt, body, base)
}

// writeRDF serializes quads in media type mt.
func writeRDF(mt string, quads []rdf.Quad, base string) ([]byte, error) {
	var buf bytes.Buffer
	err := rdf.Write(&buf, mt, quads, base)
	return buf.Bytes(), err
}

// readableRDF lists the RDF media types a write may use.
func readableRDF() []string { return rdfTypes }

// patchTypes lists the PATCH media types the server accepts.
func patchTypes() []string { return []string{patch.MediaN3, patch.MediaSPARQLUpdate} }

// ParseRDF reads a stored RDF body of media type mt into quads, relative
// IRIs resolved against base.
func ParseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	return parseRDF(mt, body, base)
}
