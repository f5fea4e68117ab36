package ldp

import (
	"bytes"
	"fmt"

	"podserver/rdf"
)

// parseRDF reads body of media type mt into quads, relative IRIs resolved
// against base.
func parseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	switch mt {
	case MediaJSONLD:
		return rdf.ParseJSONLD(body, base)
	}
	return nil, fmt.Errorf("cannot read %s", mt)
}

// writeRDF serializes quads in media type mt.
func writeRDF(mt string, quads []rdf.Quad, base string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch mt {
	case MediaJSONLD:
		err = rdf.WriteJSONLD(&buf, quads, base)
	default:
		err = fmt.Errorf("cannot write %s", mt)
	}
	return buf.Bytes(), err
}

// readableRDF lists the RDF media types parseRDF accepts.
func readableRDF() []string { return []string{MediaJSONLD} }

// patchTypes lists the PATCH media types the server accepts.
func patchTypes() []string { return []string{mediaN3, mediaSPARQLUpd} }

// ParseRDF reads a stored RDF body of media type mt into quads, relative
// IRIs resolved against base.
func ParseRDF(mt string, body []byte, base string) ([]rdf.Quad, error) {
	return parseRDF(mt, body, base)
}
