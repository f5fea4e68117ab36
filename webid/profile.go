package webid

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"podserver/httpsig"
	"podserver/rdf"
)

// Vocabulary IRIs this package reads.
const (
	LDPInbox = "http://www.w3.org/ns/ldp#inbox"

	SecNS                 = "https://w3id.org/security#"
	SecMultikey           = SecNS + "Multikey"
	SecAssertionMethod    = SecNS + "assertionMethod"
	SecVerificationMethod = SecNS + "verificationMethod"
	SecController         = SecNS + "controller"
	SecPublicKeyMultibase = SecNS + "publicKeyMultibase"
	SecPublicKeyJwk       = SecNS + "publicKeyJwk"
)

// Profile is what delivery needs from a WebID profile.
type Profile struct {
	// WebID is the agent's IRI, with its fragment.
	WebID string
	// Inbox is the IRI of the agent's LDN inbox (ldp:inbox).
	Inbox string
	// Keys maps key ids (absolute IRIs) to the Ed25519 public keys the
	// agent controls.
	Keys map[string]ed25519.PublicKey
}

// Key is a public key published in a profile document.
type Key struct {
	// ID is the key's IRI, the key id of signatures made with it.
	ID string
	// Controller is the WebID of the agent that links the key.
	Controller string
	// Public is the Ed25519 public key.
	Public ed25519.PublicKey
}

// document is what one profile document says, parsed once and then never
// changed (it is shared by every cache reader).
type document struct {
	url     string            // without fragment
	inboxes map[string]string // agent IRI -> inbox IRI
	keys    map[string]keyEntry
	issuers map[string][]string // agent IRI -> solid:oidcIssuer IRIs
}

// keyEntry is a key linked by an agent of the document, or why it cannot
// be used.
type keyEntry struct {
	key Key
	err error
}

// docURL returns u without its fragment, and the fragment.
func splitFragment(u string) (doc, fragment string) {
	doc, fragment, _ = strings.Cut(u, "#")
	return doc, fragment
}

// checkHTTPURL checks that u is an absolute http(s) IRI.
func checkHTTPURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return err
	}
	if s := strings.ToLower(p.Scheme); (s != "http" && s != "https") || p.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", u)
	}
	return nil
}

// parseDocument reads a profile document from its quads. Only the default
// graph counts: statements inside named graphs are quoted, not asserted.
func parseDocument(docURL string, quads []rdf.Quad) *document {
	d := &document{url: docURL, inboxes: map[string]string{}, keys: map[string]keyEntry{}, issuers: OIDCIssuersOf(quads)}
	inboxes := map[string][]string{}
	links := map[string]map[string]bool{} // key -> agents linking it
	material := map[string][]rdf.Term{}   // key -> multibase and JWK literals
	controllers := map[string][]string{}  // key -> sec:controller values
	for _, q := range quads {
		if !q.G.IsZero() || q.S.Kind != rdf.KindIRI {
			continue
		}
		s, o := q.S.Value, q.O
		switch q.P.Value {
		case LDPInbox:
			if o.Kind == rdf.KindIRI && checkHTTPURL(o.Value) == nil {
				inboxes[s] = append(inboxes[s], o.Value)
			}
		case SecAssertionMethod, SecVerificationMethod:
			if o.Kind == rdf.KindIRI {
				if links[o.Value] == nil {
					links[o.Value] = map[string]bool{}
				}
				links[o.Value][s] = true
			}
		case SecPublicKeyMultibase, SecPublicKeyJwk:
			if o.Kind == rdf.KindLiteral {
				material[s] = append(material[s], rdf.Term{Kind: rdf.KindLiteral, Value: o.Value, Datatype: q.P.Value})
			}
		case SecController:
			if o.Kind == rdf.KindIRI {
				controllers[s] = append(controllers[s], o.Value)
			}
		}
	}
	for agent, list := range inboxes {
		sort.Strings(list) // several inboxes: pick one, the same every time
		d.inboxes[agent] = list[0]
	}
	for keyID, agents := range links {
		if doc, frag := splitFragment(keyID); doc != docURL || frag == "" {
			continue // another document's key: its key id would not lead here
		}
		d.keys[keyID] = readKey(docURL, keyID, agents, controllers[keyID], material[keyID])
	}
	return d
}

// readKey decides which agent controls a key and decodes its material.
func readKey(docURL, keyID string, agents map[string]bool, ctrl []string, mat []rdf.Term) keyEntry {
	k := Key{ID: keyID}
	switch {
	case len(ctrl) > 1:
		return keyEntry{key: k, err: errors.New("key has several sec:controller values")}
	case len(ctrl) == 1:
		if !agents[ctrl[0]] {
			return keyEntry{key: k, err: fmt.Errorf("key's controller %s does not link it", ctrl[0])}
		}
		k.Controller = ctrl[0]
	case len(agents) == 1:
		for a := range agents {
			k.Controller = a
		}
	default:
		return keyEntry{key: k, err: errors.New("several agents link the key and it names no sec:controller")}
	}
	if doc, _ := splitFragment(k.Controller); doc != docURL {
		return keyEntry{key: k, err: fmt.Errorf("key's controller %s is not described by this document", k.Controller)}
	}
	var problems []error
	for _, m := range mat {
		var pub ed25519.PublicKey
		var err error
		if m.Datatype == SecPublicKeyMultibase {
			pub, err = httpsig.ParsePublicKeyMultibase(m.Value)
		} else {
			pub, err = httpsig.ParsePublicKeyJWK([]byte(m.Value))
		}
		switch {
		case err != nil:
			problems = append(problems, err)
		case k.Public == nil:
			k.Public = pub
		case !bytes.Equal(k.Public, pub):
			return keyEntry{key: k, err: errors.New("key has conflicting public key values")}
		}
	}
	if k.Public == nil {
		return keyEntry{key: k, err: fmt.Errorf("key has no usable Ed25519 publicKeyMultibase or publicKeyJwk: %w", errors.Join(problems...))}
	}
	return keyEntry{key: k}
}

// profile returns the Profile of webID from its document.
func (d *document) profile(webID string) (*Profile, error) {
	inbox, ok := d.inboxes[webID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoInbox, webID)
	}
	p := &Profile{WebID: webID, Inbox: inbox, Keys: map[string]ed25519.PublicKey{}}
	for id, e := range d.keys {
		if e.err == nil && e.key.Controller == webID {
			p.Keys[id] = append(ed25519.PublicKey(nil), e.key.Public...)
		}
	}
	return p, nil
}

// KeyNode returns the JSON-LD node object of an Ed25519 Multikey for a
// profile document: {"@id": keyID, "@type": sec:Multikey, sec:controller:
// {"@id": controller}, sec:publicKeyMultibase: "z6Mk..."}, with full IRIs
// as member names, so it means the same under any @context. keyID and
// controller may be relative ("#key", "#me"). The agent's own node must
// also link the key: {SecAssertionMethod: {"@id": keyID}}.
func KeyNode(keyID, controller string, pub ed25519.PublicKey) map[string]any {
	return map[string]any{
		"@id":                 keyID,
		"@type":               SecMultikey,
		SecController:         map[string]any{"@id": controller},
		SecPublicKeyMultibase: httpsig.PublicKeyMultibase(pub),
	}
}
