package webid

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"podserver/httpsig"
	"podserver/netguard"
)

// podserverJSONLD is a profile shaped like the one pod/provision.go writes
// (podserver's context, relative IRIs), plus the key as KeyNode makes it.
func podserverJSONLD(t *testing.T, pub []byte) string {
	t.Helper()
	me := map[string]any{
		"id":               "#me",
		"type":             []string{"foaf:Agent", "schema:Person"},
		"foaf:name":        "alice",
		"inbox":            "../inbox/",
		"storage":          "../",
		SecAssertionMethod: map[string]any{"@id": "#key"},
	}
	graph := []any{
		map[string]any{"id": "", "type": "foaf:PersonalProfileDocument", "foaf:primaryTopic": map[string]string{"id": "#me"}},
		me,
	}
	if pub != nil {
		graph = append(graph, KeyNode("#key", "#me", pub))
	}
	b, err := json.Marshal(map[string]any{"@context": "https://w3id.org/podserver/v1", "@graph": graph})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProfileFormats(t *testing.T) {
	pub, _ := newKey(t)
	other, _ := newKey(t)
	mb := httpsig.PublicKeyMultibase(pub)
	jwk := string(httpsig.PublicKeyJWK(pub))
	jwkTurtle := strings.ReplaceAll(jwk, `"`, `\"`)
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	webID := srv.URL + card + "#me"
	keyID := srv.URL + card + "#key"
	inbox := srv.URL + "/alice/inbox/"
	const prefixes = "@prefix ldp: <http://www.w3.org/ns/ldp#> .\n@prefix sec: <https://w3id.org/security#> .\n@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"

	tests := []struct {
		name     string
		doc      doc
		wantKeys int   // keys expected in Profile.Keys
		want     error // from Profile
	}{
		{"turtle, podserver format", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", mb)}, 1, nil},
		{"turtle with charset", doc{contentType: "text/turtle; charset=utf-8", body: turtleProfile(inbox, mb)}, 1, nil},
		{"json-ld, podserver format", doc{contentType: "application/ld+json", body: podserverJSONLD(t, pub)}, 1, nil},
		{"json-ld without key", doc{contentType: "application/ld+json", body: podserverJSONLD(t, nil)}, 0, nil},
		{"turtle, JWK literal, verificationMethod", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:verificationMethod <#key> .
			 <#key> sec:publicKeyJwk "` + jwkTurtle + `"^^rdf:JSON .`}, 1, nil},
		{"json-ld, @json JWK", doc{contentType: "application/ld+json", body: `{"@context": {"sec": "https://w3id.org/security#",
			"jwk": {"@id": "sec:publicKeyJwk", "@type": "@json"}, "am": {"@id": "sec:assertionMethod", "@type": "@id"}},
			"@graph": [{"@id": "#me", "http://www.w3.org/ns/ldp#inbox": {"@id": "../inbox/"}, "am": "#key"},
			           {"@id": "#key", "jwk": ` + jwk + `}]}`}, 1, nil},
		{"same key in both forms", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:assertionMethod <#key> .
			 <#key> sec:publicKeyMultibase "` + mb + `"; sec:publicKeyJwk "` + jwkTurtle + `"^^rdf:JSON .`}, 1, nil},
		{"conflicting key forms: key unusable", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:assertionMethod <#key> .
			 <#key> sec:publicKeyMultibase "` + httpsig.PublicKeyMultibase(other) + `"; sec:publicKeyJwk "` + jwkTurtle + `"^^rdf:JSON .`}, 0, nil},
		{"key not linked", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/> . <#key> sec:controller <#me>; sec:publicKeyMultibase "` + mb + `" .`}, 0, nil},
		{"key linked by another agent", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/> . <#bob> sec:assertionMethod <#key> . <#key> sec:publicKeyMultibase "` + mb + `" .`}, 0, nil},
		{"controller is someone else", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:assertionMethod <#key> . <#key> sec:controller <#bob>; sec:publicKeyMultibase "` + mb + `" .`}, 0, nil},
		{"key in another document", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:assertionMethod <https://elsewhere.example/keys#k> .
			 <https://elsewhere.example/keys#k> sec:publicKeyMultibase "` + mb + `" .`}, 0, nil},
		{"blank node key", doc{contentType: "text/turtle", body: prefixes +
			`<#me> ldp:inbox <../inbox/>; sec:assertionMethod [ sec:publicKeyMultibase "` + mb + `" ] .`}, 0, nil},
		{"bad multibase", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "z6MkNOPE")}, 0, nil},
		{"key only in a named graph", doc{contentType: "application/ld+json", body: `{"@id": "#g", "@graph": [
			{"@id": "#me", "http://www.w3.org/ns/ldp#inbox": {"@id": "../inbox/"}}]}`}, 0, ErrNoInbox},
		{"no inbox", doc{contentType: "text/turtle", body: turtleProfile("", mb)}, 0, ErrNoInbox},
		{"inbox is a literal", doc{contentType: "text/turtle", body: prefixes + `<#me> ldp:inbox "../inbox/" .`}, 0, ErrNoInbox},
		{"inbox of another agent", doc{contentType: "text/turtle", body: prefixes + `<#bob> ldp:inbox <../inbox/> .`}, 0, ErrNoInbox},
		{"empty document", doc{contentType: "text/turtle", body: ""}, 0, ErrNoInbox},
		{"malformed turtle", doc{contentType: "text/turtle", body: "<#me> ldp:inbox <../inbox/> ."}, 0, ErrMalformedProfile},
		{"malformed json-ld", doc{contentType: "application/ld+json", body: `{"@id": "#me",`}, 0, ErrMalformedProfile},
		{"unknown remote context", doc{contentType: "application/ld+json", body: `{"@context": "https://contexts.example/unknown/v1", "id": "#me"}`}, 0, ErrMalformedProfile},
		{"html", doc{contentType: "text/html", body: "<html></html>"}, 0, ErrMalformedProfile},
		{"no content type", doc{body: turtleProfile("../inbox/", mb)}, 0, ErrMalformedProfile},
		{"404", doc{status: 404, body: "gone"}, 0, ErrFetch},
		{"500", doc{status: 500, contentType: "text/turtle", body: turtleProfile("../inbox/", mb)}, 0, ErrFetch},
		{"huge", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", mb) + "# " + strings.Repeat("x", DefaultMaxProfileBytes)}, 0, ErrMalformedProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.set(card, tt.doc)
			r, _ := newResolver(t, Options{})
			p, err := r.Profile(context.Background(), webID)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Profile = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if p.WebID != webID || p.Inbox != inbox {
				t.Fatalf("profile %+v", p)
			}
			if len(p.Keys) != tt.wantKeys {
				t.Fatalf("keys %v, want %d", p.Keys, tt.wantKeys)
			}
			if tt.wantKeys == 1 && !p.Keys[keyID].Equal(pub) {
				t.Fatalf("key %x, want %x", p.Keys[keyID], pub)
			}
		})
	}
}

func TestFetchErrorDetails(t *testing.T) {
	srv := newProfileServer(t)
	srv.set("/big", doc{contentType: "text/turtle", body: strings.Repeat("#", 2000)})
	r, _ := newResolver(t, Options{MaxProfileBytes: 1000})

	_, err := r.Profile(context.Background(), srv.URL+"/missing#me")
	var se *StatusError
	if !errors.Is(err, ErrFetch) || !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("404: %v", err)
	}
	_, err = r.Profile(context.Background(), srv.URL+"/big#me")
	if !errors.Is(err, ErrMalformedProfile) || !errors.Is(err, netguard.ErrResponseTooLarge) {
		t.Fatalf("big: %v", err)
	}

	// The default client refuses loopback.
	def := NewResolver(Options{})
	srv.set("/alice/profile/card", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
	_, err = def.Profile(context.Background(), srv.URL+"/alice/profile/card#me")
	if !errors.Is(err, ErrFetch) || !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("default client on loopback: %v", err)
	}

	for _, bad := range []string{"", "alice", "/alice/profile/card#me", "ftp://a.example/card#me", "mailto:alice@example.com", "https:///card"} {
		if _, err := r.Profile(context.Background(), bad); !errors.Is(err, ErrBadWebID) {
			t.Errorf("Profile(%q) = %v, want ErrBadWebID", bad, err)
		}
	}
}

func TestSlowProfile(t *testing.T) {
	srv := newProfileServer(t)
	srv.set("/slow", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", ""), delay: time.Second})

	// The fetch timeout ends a fetch however long the caller would wait.
	r, _ := newResolver(t, Options{FetchTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := r.Profile(context.Background(), srv.URL+"/slow#me")
	if !errors.Is(err, ErrFetch) || time.Since(start) > 3*time.Second {
		t.Fatalf("slow profile: %v after %s", err, time.Since(start))
	}

	// A caller that gives up returns at once.
	r, _ = newResolver(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = r.Profile(ctx, srv.URL+"/slow#me")
	if !errors.Is(err, ErrFetch) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled caller: %v after %s", err, time.Since(start))
	}
}
