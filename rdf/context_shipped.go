package rdf

import "embed"

// shippedContextFiles holds the widely used contexts built into the binary
// besides podserver's own; contexts/README.md names the package and
// version each file was copied from, and its licence.
//
//go:embed contexts/*.jsonld
var shippedContextFiles embed.FS

// shippedContext is a widely used context built into the binary: uri is
// its canonical URL, aliases the other URLs (https, without a trailing
// slash) that name the same document.
type shippedContext struct {
	uri     string
	file    string
	aliases []string
}

// shippedContexts are served by every loader without a fetch (see
// knownContext, which also takes their http forms and a trailing slash).
var shippedContexts = []shippedContext{
	{uri: "https://www.w3.org/ns/solid/notifications-context/v1", file: "solid-notifications-context-v1.jsonld"},
	{uri: "https://www.w3.org/2018/credentials/v1", file: "credentials-v1.jsonld"},
	{uri: "https://www.w3.org/ns/credentials/v2", file: "credentials-v2.jsonld"},
	{uri: "https://w3id.org/security/v1", file: "security-v1.jsonld"},
	{uri: "https://w3id.org/security/v2", file: "security-v2.jsonld"},
	{uri: "https://www.w3.org/ns/did/v1", file: "did-v1.jsonld"},
	{uri: "https://w3id.org/security/data-integrity/v1", file: "data-integrity-v1.jsonld"},
	{uri: "https://w3id.org/security/data-integrity/v2", file: "data-integrity-v2.jsonld"},
	{uri: "https://w3id.org/security/multikey/v1", file: "multikey-v1.jsonld"},
	{uri: "https://www.w3.org/ns/odrl.jsonld", file: "odrl.jsonld", aliases: []string{"https://www.w3.org/ns/odrl/2/odrl.jsonld"}},
	{uri: "https://schema.org/", file: "schemaorg.jsonld", aliases: []string{
		"https://schema.org/docs/jsonldcontext.jsonld", "https://schema.org/docs/jsonldcontext.json",
		"https://www.schema.org",
	}},
}
