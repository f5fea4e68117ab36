// Package webid fetches WebID profile documents and reads what delivery
// between servers needs from them: the agent's Linked Data Notifications
// inbox (ldp:inbox) and its Ed25519 public keys for HTTP Message Signatures.
//
// # Profile format
//
// The key format podserver publishes, and the one this package reads, is a
// Multikey (https://w3id.org/security#) linked from the WebID by
// sec:assertionMethod, with sec:controller pointing back to the WebID. In
// Turtle, for the profile document https://host/pod/profile/card:
//
//	@prefix ldp: <http://www.w3.org/ns/ldp#> .
//	@prefix sec: <https://w3id.org/security#> .
//
//	<#me> ldp:inbox <../inbox/> ;
//	    sec:assertionMethod <#key> .
//
//	<#key> a sec:Multikey ;
//	    sec:controller <#me> ;
//	    sec:publicKeyMultibase "z6Mk..." .
//
// The key id used in Signature-Input is the key's full IRI,
// https://host/pod/profile/card#key; the publicKeyMultibase value is
// httpsig.PublicKeyMultibase of the key. KeyNode builds the JSON-LD node of
// such a key.
//
// When reading, this package also accepts sec:verificationMethod in place
// of sec:assertionMethod, and sec:publicKeyJwk (a JSON literal holding an
// OKP Ed25519 JWK, rdf:JSON in Turtle or "@type": "@json" in JSON-LD) in
// place of sec:publicKeyMultibase. A key is used only when
//   - it is an IRI in the same document as the profile (so the key id
//     names the document to fetch),
//   - an agent of that document links it, and sec:controller, when given,
//     names that agent,
//   - its material decodes to one Ed25519 public key.
//
// Profiles are read with podserver/rdf: Turtle, or JSON-LD whose remote
// contexts are among the ones rdf has built in (others are refused, as the
// rdf document loader never touches the network).
//
// This package imports podserver/rdf, podserver/httpsig (key encodings) and
// podserver/netguard (the default HTTP client) and no other podserver
// package.
package webid
