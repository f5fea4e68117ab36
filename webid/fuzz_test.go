package webid

import (
	"testing"

	"podserver/rdf"
)

// FuzzParseDocument reads arbitrary Turtle as a profile document: it must
// not panic, and every usable key it finds must be in the document and
// controlled by an agent of the document.
func FuzzParseDocument(f *testing.F) {
	f.Add(turtleProfile("../inbox/", "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"))
	f.Add(turtleProfile("", "z6MkNOPE"))
	f.Add(`@prefix sec: <https://w3id.org/security#> . <#a> sec:assertionMethod <#k> . <#b> sec:verificationMethod <#k> . <#k> sec:controller <#a>, <#b> .`)
	const base = "https://a.example/alice/profile/card"
	f.Fuzz(func(t *testing.T, ttl string) {
		quads, err := rdf.Parse("text/turtle", []byte(ttl), base)
		if err != nil {
			return
		}
		d := parseDocument(base, quads)
		for id, e := range d.keys {
			if doc, frag := splitFragment(id); doc != base || frag == "" {
				t.Fatalf("key %s is not in the document", id)
			}
			if e.err == nil {
				if doc, _ := splitFragment(e.key.Controller); doc != base || len(e.key.Public) != 32 {
					t.Fatalf("key %+v", e.key)
				}
			}
		}
		for agent, inbox := range d.inboxes {
			if checkHTTPURL(inbox) != nil || agent == "" {
				t.Fatalf("inbox %q of %q", inbox, agent)
			}
		}
	})
}
