package acl

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"podserver/rdf"
)

const (
	appA   = "https://app-a.example/id"
	appB   = "https://app-b.example/client.jsonld"
	opaque = "opaque-registered-id"
	carol  = "https://carol.example/card#me"
	dave   = "https://dave.example/card#me"
	group  = "http://h/alice/groups#friends"
)

// clientACL is the ACL document of the client rule tests, for resource.
func clientACL(doc, resource string) []rdf.Quad {
	return BuildACL([]Authorization{
		// alice through app A or the opaque client: read and write; through
		// any client (or none): control.
		{ID: doc + "#alice-apps", Agents: []string{alice}, Clients: []string{appA, opaque}, AccessTo: []string{resource}, Modes: Read | Write},
		{ID: doc + "#alice-any", Agents: []string{alice}, AccessTo: []string{resource}, Modes: Control},
		// bob through app A from the allowed origin (or no Origin): read.
		{ID: doc + "#bob", Agents: []string{bob}, Clients: []string{appA}, Origins: []string{allowed}, AccessTo: []string{resource}, Modes: Read},
		// carol, whatever the client: read.
		{ID: doc + "#carol", Agents: []string{carol}, AccessTo: []string{resource}, Modes: Read},
		// Anyone through app B: append.
		{ID: doc + "#everyone-b", AgentClasses: []string{FOAFAgent}, Clients: []string{appB}, AccessTo: []string{resource}, Modes: Append},
		// The group's members through app B: write.
		{ID: doc + "#group-b", Groups: []string{group}, Clients: []string{appB}, AccessTo: []string{resource}, Modes: Write},
	})
}

func TestWACClientRule(t *testing.T) {
	const resource = root + "diary/today"
	loc := newFakeLocator()
	loc.set(resource+".acl", clientACL(resource+".acl", resource))
	loc.set("http://h/alice/groups", []rdf.Quad{q(group, vcardHasMember, dave)})
	e, _ := newWatched(loc)
	ctx := context.Background()
	all := Read | Write | Append | Control
	tests := []struct {
		name                  string
		agent, origin, client string
		user, public          Mode
		groupRead             bool // whether the group document must be read
	}{
		{name: "alice, listed client", agent: alice, client: appA, user: all},
		{name: "alice, second listed client (a literal)", agent: alice, client: opaque, user: all},
		{name: "alice, other client", agent: alice, client: "https://evil.example/id", user: Control},
		{name: "alice, client id differs in case", agent: alice, client: "https://APP-A.example/id", user: Control},
		{name: "alice, no client id (API key)", agent: alice, user: Control},
		{name: "alice, client B: everyone-b applies", agent: alice, client: appB, user: Control | Append, groupRead: true},
		{name: "bob, listed client, no Origin", agent: bob, client: appA, user: Read},
		{name: "bob, listed client, allowed Origin", agent: bob, client: appA, origin: allowed, user: Read},
		{name: "bob, listed client, other Origin", agent: bob, client: appA, origin: other},
		{name: "bob, other client, allowed Origin", agent: bob, client: appB, origin: allowed, user: Append, groupRead: true},
		{name: "bob, no client id", agent: bob, origin: allowed},
		{name: "carol, any client", agent: carol, client: "https://whatever.example/id", user: Read},
		{name: "carol, no client id", agent: carol, user: Read},
		{name: "dave (group), client B", agent: dave, client: appB, user: Write | Append, groupRead: true},
		{name: "dave (group), client A: group not read", agent: dave, client: appA},
		{name: "dave (group), no client id: group not read", agent: dave},
		{name: "anonymous", user: 0},
		{name: "anonymous claiming client B", client: appB, user: Append},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := loc.calls["http://h/alice/groups"]
			req := Request{ResourceURL: resource, RootURL: root, Agent: tt.agent, Origin: tt.origin, ClientID: tt.client}
			user, public, err := e.Modes(ctx, req)
			if err != nil || user != tt.user || public != tt.public {
				t.Errorf("Modes = %q, %q, %v; want %q, %q", user, public, err, tt.user, tt.public)
			}
			if got, err := e.Allowed(ctx, req); err != nil || got != tt.user {
				t.Errorf("Allowed = %q, %v; want %q", got, err, tt.user)
			}
			if read := loc.calls["http://h/alice/groups"] > before; read != tt.groupRead {
				t.Errorf("group document read: %v, want %v", read, tt.groupRead)
			}
			var want error
			switch {
			case tt.user.Grants(Read):
			case tt.agent == "":
				want = ErrUnauthenticated
			default:
				want = ErrForbidden
			}
			if err := e.Check(ctx, req, Read); err != want {
				t.Errorf("Check(Read) = %v, want %v", err, want)
			}
		})
	}
}

// TestWACClientIgnoredWithoutRestriction: authorizations without
// acl:client grant the same whatever the client, so the WAC matrix holds
// for requests made through any client, and the origin rule is unchanged.
func TestWACClientIgnoredWithoutRestriction(t *testing.T) {
	const resource = root + "a/b/doc"
	loc := newFakeLocator()
	loc.set(resource+".acl", matrixACL(resource+".acl", resource, false))
	e, _ := newWatched(loc)
	ctx := context.Background()
	for _, agent := range []string{alice, bob, ""} {
		for _, origin := range []string{"", allowed, other} {
			base := Request{ResourceURL: resource, RootURL: root, Agent: agent, Origin: origin}
			wantUser, wantPublic, err := e.Modes(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			for _, client := range []string{appA, opaque} {
				req := base
				req.ClientID = client
				user, public, err := e.Modes(ctx, req)
				if err != nil || user != wantUser || public != wantPublic {
					t.Errorf("%q from %q through %q: Modes = %q, %q, %v; without a client %q, %q",
						agent, origin, client, user, public, err, wantUser, wantPublic)
				}
			}
		}
	}
}

func TestParseACLClient(t *testing.T) {
	const (
		doc      = "http://h/alice/diary/.acl"
		resource = "http://h/alice/diary/"
	)
	want := []Authorization{{
		ID: doc + "#app", Agents: []string{alice}, Origins: []string{"https://app-a.example"},
		Clients: []string{appA, opaque}, AccessTo: []string{resource}, Modes: Read,
	}}
	docs := []struct{ name, mediaType, body string }{
		{"Turtle", "text/turtle", `@prefix acl: <http://www.w3.org/ns/auth/acl#> .
<#app> a acl:Authorization ;
    acl:agent <` + alice + `> ;
    acl:origin <https://app-a.example> ;
    acl:client <` + appA + `>, "` + opaque + `", <` + appA + `> ;
    acl:accessTo <./> ;
    acl:mode acl:Read .
`},
		{"JSON-LD", "application/ld+json", `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"},
 "@id": "#app", "@type": "acl:Authorization",
 "acl:agent": {"@id": "` + alice + `"},
 "acl:origin": {"@id": "https://app-a.example"},
 "acl:client": [{"@id": "` + appA + `"}, "` + opaque + `"],
 "acl:accessTo": {"@id": "./"},
 "acl:mode": {"@id": "acl:Read"}}`},
	}
	for _, d := range docs {
		quads, err := rdf.Parse(d.mediaType, []byte(d.body), doc)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		got, err := ParseACL(quads)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseACL =\n%+v, %v\nwant\n%+v", d.name, got, err, want)
		}
		// Written back (an opaque id as a string literal, a URL as an
		// IRI) it reads the same.
		back, err := ParseACL(BuildACL(got))
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("%s: round trip =\n%+v, %v", d.name, back, err)
		}
	}
	for _, c := range BuildACL(want) {
		if c.P.Value != aclClient {
			continue
		}
		if wantKind := map[string]rdf.Kind{appA: rdf.KindIRI, opaque: rdf.KindLiteral}[c.O.Value]; c.O.Kind != wantKind {
			t.Errorf("BuildACL wrote client %q as kind %d, want %d", c.O.Value, c.O.Kind, wantKind)
		}
	}
}

func TestParseACLClientErrors(t *testing.T) {
	typ := q("_:a", rdf.RDFType, aclAuthorization)
	tests := []struct {
		o    rdf.Term
		want string
	}{
		{rdf.Blank("x"), "a blank node"},
		{rdf.Literal("", ""), "an empty string"},
		{rdf.LangLiteral("app", "en"), "a language-tagged string"},
		{rdf.Literal("7", rdf.XSDInteger), "a literal of type " + rdf.XSDInteger},
	}
	for _, tt := range tests {
		_, err := ParseACL([]rdf.Quad{typ, {S: rdf.Blank("a"), P: rdf.IRI(aclClient), O: tt.o}})
		want := fmt.Sprintf("Invalid ACL document: authorization _:a: acl:client must be an IRI or a non-empty string, not %s", tt.want)
		if !errors.Is(err, ErrInvalidACL) || err.Error() != want {
			t.Errorf("ParseACL(%+v) error = %v, want %q", tt.o, err, want)
		}
	}
}

func TestIsAbsoluteIRI(t *testing.T) {
	for v, want := range map[string]bool{
		"https://app.example/id": true, "urn:uuid:1": true, "did:web:x": true, "a+b-c.d:x": true,
		"opaque": false, "": false, ":x": false, "1a:x": false, "my app:x": false, "_x:y": false,
	} {
		if got := isAbsoluteIRI(v); got != want {
			t.Errorf("isAbsoluteIRI(%q) = %v, want %v", v, got, want)
		}
	}
}
