package pod_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"podserver/conformance"
	"podserver/pod"
	"podserver/podtest"
	"podserver/rdf"
)

const (
	ldpNS      = "http://www.w3.org/ns/ldp#"
	podVocabNS = "https://w3id.org/podserver/ns#"
)

// clientRead GETs url as a client does and has the independent processors
// read the answer: JSON-LD with jsonld.js (fetching the contexts it names
// from the server, nothing built in), Turtle with N3.js.
func clientRead(t *testing.T, url, key, accept string) []rdf.Quad {
	t.Helper()
	r := evDo(t, evReq{method: "GET", url: url, key: key, hdr: map[string]string{"Accept": accept}})
	if r.status != http.StatusOK {
		t.Fatalf("GET %s (%s): %d %s", url, accept, r.status, r.body)
	}
	ct := r.hdr.Get("Content-Type")
	if !strings.HasPrefix(ct, accept) {
		t.Fatalf("GET %s: Content-Type %q, asked for %s", url, ct, accept)
	}
	q, err := conformance.Parse(t, ct, url, []byte(r.body), "")
	if err != nil {
		t.Fatalf("GET %s (%s): %v\n%s", url, accept, err, r.body)
	}
	return q
}

// A JSON-LD processor given only the server's JSON-LD response, and what
// it can fetch from the server, reads the same graph as a Turtle parser
// reads from the Turtle representation of the same resource: the WebID
// profile, an ACL, a container, a settings document, an inbox item (a
// published copy) and an item stored as an LDN sender posted it.
func TestConformanceJSONLDMatchesTurtle(t *testing.T) {
	conformance.Need(t)
	s := podtest.RunServer(t, pod.Options{})
	publishN(t, s, 1)
	pg, _ := readInbox(t, s, "alice", evKeys.alice, "")
	if len(pg.Contains) != 1 {
		t.Fatalf("alice's inbox: %+v", pg)
	}
	item, _ := pg.Contains[0]["url"].(string)
	root := s.PodRoot("alice")
	for _, c := range []struct{ name, url, key string }{
		{"profile", root + "profile/card", ""},
		{"acl", root + ".acl", evKeys.alice},
		{"container", root, evKeys.alice},
		{"settings", root + "settings/subscriptions", evKeys.alice},
		{"profile acl", root + "profile/card.acl", evKeys.alice},
		{"inbox acl", root + "inbox/.acl", evKeys.alice},
		{"turtle profile", putTurtleProfile(t, s), evKeys.alice},
		{"inbox item", item, evKeys.alice},
	} {
		t.Run(c.name, func(t *testing.T) {
			jl := clientRead(t, c.url, c.key, "application/ld+json")
			ttl := clientRead(t, c.url, c.key, "text/turtle")
			if len(ttl) == 0 || !rdf.Isomorphic(jl, ttl) {
				t.Fatalf("JSON-LD gives %d statements, Turtle %d, not the same graph:\n%v\n%v", len(jl), len(ttl), jl, ttl)
			}
		})
	}

	// The context is served where the documents say, to any origin.
	r := evDo(t, evReq{method: "GET", url: s.BaseURL() + "/ns/v1", hdr: map[string]string{"Origin": "https://app.example"}})
	if r.status != http.StatusOK || r.hdr.Get("Content-Type") != "application/ld+json" || r.hdr.Get("Cache-Control") == "" ||
		r.hdr.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("GET /ns/v1: %d %v", r.status, r.hdr)
	}
}

// An LDN notification is stored as sent: reading the item gives the
// sender's graph (none of the server's fields among its statements), as
// JSON-LD and as Turtle, and the app-facing listing gives the sender and
// the notification without a statement of the payload about the inbox.
func TestConformanceNotificationStoredAsSent(t *testing.T) {
	conformance.Need(t)
	s := podtest.RunServer(t, pod.Options{})
	inboxURL := s.PodRoot("bob") + "inbox/"
	// The sender's own context makes agent, instrument and url statements
	// of its vocabulary, and "@id": "" makes the notification the
	// document's own node.
	const sent = `{"@context": {"as": "https://www.w3.org/ns/activitystreams#", "type": "@type",
  "agent": {"@id": "as:actor", "@type": "@id"}, "instrument": "as:instrument", "url": {"@id": "as:url", "@type": "@id"},
  "summary": "as:summary"}, "@id": "", "type": "as:Announce", "summary": "hello",
  "agent": "https://sender.example/#me", "url": "https://sender.example/page"}`
	post := evDo(t, evReq{method: "POST", url: inboxURL, key: evKeys.alice, body: sent, ctype: "application/ld+json"})
	if post.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", post.status, post.body)
	}
	item := post.hdr.Get("Location")
	want, err := conformance.Parse(t, "application/ld+json", item, []byte(sent), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 {
		t.Fatalf("the sent notification has %d statements, want 4: %v", len(want), want)
	}
	for _, accept := range []string{"application/ld+json", "text/turtle"} {
		if got := clientRead(t, item, evKeys.bob, accept); !rdf.Isomorphic(got, want) {
			t.Errorf("%s: read %v\nsent %v", accept, got, want)
		}
	}

	// The listing: the sender's WebID and app are the server's fields of
	// the item; the notification hangs off the item as a JSON literal.
	got := clientRead(t, inboxURL, evKeys.bob, "application/ld+json")
	itemIRI, inbox := rdf.IRI(item), rdf.IRI(inboxURL)
	var aboutItem []rdf.Quad
	for _, q := range got {
		switch q.S {
		case inbox:
			if q.P.Value != rdf.RDFType && (q.P.Value != ldpNS+"contains" || q.O != itemIRI) {
				t.Errorf("statement about the inbox: %v", q)
			}
		case itemIRI:
			aboutItem = append(aboutItem, q)
		default:
			t.Errorf("statement about neither the inbox nor its item: %v", q)
		}
	}
	has := func(p string, o rdf.Term) bool {
		for _, q := range aboutItem {
			if q.P.Value == p && (o.Value == "" || q.O == o) {
				return true
			}
		}
		return false
	}
	if !has("https://schema.org/agent", rdf.IRI(s.WebID("alice"))) || !has(podVocabNS+"notification", rdf.Term{}) {
		t.Errorf("the item in the listing: %v", aboutItem)
	}
}

// The app-facing inbox listing keeps the fields apps read (the event's id,
// topic, data, agent) and is the right RDF: exactly one ldp:contains per
// item, nothing else about the inbox than the Turtle listing says, and the
// event's data hanging off the item's IRI, with the event's id as its
// pod:event.
func TestConformanceInboxListing(t *testing.T) {
	conformance.Need(t)
	s := podtest.RunServer(t, pod.Options{})
	ids := publishN(t, s, 2)
	inboxURL := s.PodRoot("alice") + "inbox/"
	pg, _ := readInbox(t, s, "alice", evKeys.alice, "")
	if len(pg.Contains) != 2 {
		t.Fatalf("listing: %+v", pg)
	}
	items := map[rdf.Term]string{}
	for i, e := range pg.Contains {
		u, _ := e["url"].(string)
		if e["id"] != ids[i] || e["topic"] != "realestate/contact#add" || e["agent"] != s.WebID("producer") || e["data"] == nil || u == "" {
			t.Fatalf("entry %d lacks what apps read: %v", i, e)
		}
		items[rdf.IRI(u)] = ids[i]
	}
	ttl := clientRead(t, inboxURL, evKeys.alice, "text/turtle")
	for _, accept := range []string{"application/ld+json", "application/json"} {
		t.Run(accept, func(t *testing.T) {
			r := evDo(t, evReq{method: "GET", url: inboxURL, key: evKeys.alice, hdr: map[string]string{"Accept": accept}})
			got, err := conformance.Parse(t, r.hdr.Get("Content-Type"), inboxURL, []byte(r.body), "")
			if err != nil {
				t.Fatal(err)
			}
			var aboutInbox []rdf.Quad
			events := map[rdf.Term]bool{}
			for _, q := range got {
				if q.S == rdf.IRI(inboxURL) {
					aboutInbox = append(aboutInbox, q)
					continue
				}
				if q.S.Kind == rdf.KindIRI {
					if _, ok := items[q.S]; !ok {
						t.Errorf("statement about %s, not an item: %v", q.S, q)
					}
				}
				if q.P.Value == podVocabNS+"event" {
					if items[q.S] != q.O.Value {
						t.Errorf("item %s: event %s", q.S, q.O)
					}
					events[q.S] = true
				}
			}
			if !rdf.Isomorphic(aboutInbox, ttl) {
				t.Errorf("about the inbox, the listing says %v\nthe Turtle listing %v", aboutInbox, ttl)
			}
			if len(events) != len(items) {
				t.Errorf("items with their event: %v, want %d", events, len(items))
			}
		})
	}
}

// turtleProfile is a profile as a client may write it in Turtle: every
// vocabulary of the WebID profile, which the server converts to JSON-LD
// with rdf.WriteJSONLD.
const turtleProfile = `@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix ldp: <http://www.w3.org/ns/ldp#> .
@prefix pim: <http://www.w3.org/ns/pim/space#> .
@prefix schema: <https://schema.org/> .
@prefix sec: <https://w3id.org/security#> .
@prefix solid: <http://www.w3.org/ns/solid/terms#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
<> a foaf:PersonalProfileDocument ; foaf:maker <#me> ; foaf:primaryTopic <#me> .
<#me> a foaf:Person, schema:Person ; foaf:name "Alice" ; vcard:fn "Alice" ;
    ldp:inbox <../inbox/> ; pim:storage <../> ; solid:oidcIssuer <https://idp.example/> ;
    sec:assertionMethod <#key> .
<#key> a sec:Multikey ; sec:controller <#me> ; sec:publicKeyMultibase "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH" .
`

// putTurtleProfile stores turtleProfile in alice's pod and returns its URL.
func putTurtleProfile(t *testing.T, s *pod.Server) string {
	t.Helper()
	u := s.PodRoot("alice") + "profile/turtle-card"
	r := evDo(t, evReq{method: "PUT", url: u, key: evKeys.alice, body: turtleProfile, ctype: "text/turtle"})
	if r.status != http.StatusCreated && r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", u, r.status, r.body)
	}
	return u
}

// servedContext fetches the context a served document names (one URL,
// the server's) and returns the namespace of each of its prefixes (string
// terms ending in '#' or '/', and @vocab) and the keywords it aliases.
func servedContext(t *testing.T, url string) (namespaces map[string]string, aliased map[string]bool) {
	t.Helper()
	r := evDo(t, evReq{method: "GET", url: url})
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	namespaces, aliased, err := rdf.ContextVocabulary([]byte(r.body))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return namespaces, aliased
}

// The JSON-LD the server serves for a pod's documents, stored ones (the
// profile, the ACLs, the settings) and ones converted from RDF (a
// container, a profile written as Turtle), has one style: the context's
// id and type, never @id or @type, and no IRI in full of a vocabulary the
// context has a prefix for.
func TestJSONLDOneStyle(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	root := s.PodRoot("alice")
	ctxURL := s.BaseURL() + "/ns/v1"
	namespaces, aliased := servedContext(t, ctxURL)
	if !aliased["@id"] || !aliased["@type"] || namespaces["sec"] == "" {
		t.Fatalf("the served context: aliases %v, prefixes %v", aliased, namespaces)
	}
	for _, c := range []struct{ name, url, key string }{
		{"profile", root + "profile/card", ""},
		{"acl", root + ".acl", evKeys.alice},
		{"profile acl", root + "profile/card.acl", evKeys.alice},
		{"inbox acl", root + "inbox/.acl", evKeys.alice},
		{"container", root, evKeys.alice},
		{"settings container", root + "settings/", evKeys.alice},
		{"settings", root + "settings/subscriptions", evKeys.alice},
		{"turtle profile", putTurtleProfile(t, s), evKeys.alice},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := evDo(t, evReq{method: "GET", url: c.url, key: c.key, hdr: map[string]string{"Accept": "application/ld+json"}})
			if r.status != http.StatusOK || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/ld+json") {
				t.Fatalf("GET %s: %d %s %s", c.url, r.status, r.hdr.Get("Content-Type"), r.body)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
				t.Fatalf("GET %s: %v\n%s", c.url, err, r.body)
			}
			if doc["@context"] != ctxURL {
				t.Fatalf("GET %s: @context %v, want %s", c.url, doc["@context"], ctxURL)
			}
			if bad := rdf.StyleViolations(doc, namespaces, aliased); len(bad) > 0 {
				t.Errorf("GET %s: not one style:\n%s\n%s", c.url, strings.Join(bad, "\n"), r.body)
			}
		})
	}
}
