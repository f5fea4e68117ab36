package acl

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"podserver/rdf"
)

// q builds a quad of IRIs in the default graph; a subject starting with
// "_:" is a blank node.
func q(s, p, o string) rdf.Quad {
	st := rdf.IRI(s)
	if len(s) > 2 && s[:2] == "_:" {
		st = rdf.Blank(s[2:])
	}
	return rdf.Quad{S: st, P: rdf.IRI(p), O: rdf.IRI(o)}
}

func TestParseACL(t *testing.T) {
	const (
		doc   = "http://h/alice/.acl"
		root  = "http://h/alice/"
		alice = "http://h/alice/profile/card#me"
	)
	tests := []struct {
		name  string
		quads []rdf.Quad
		want  []Authorization
	}{
		{
			name: "full",
			quads: []rdf.Quad{
				q(doc+"#owner", rdf.RDFType, aclAuthorization),
				q(doc+"#owner", aclAgent, alice),
				q(doc+"#owner", aclAgentClass, AuthenticatedAgent),
				q(doc+"#owner", aclOrigin, "https://app.example"),
				q(doc+"#owner", aclAccessTo, root),
				q(doc+"#owner", aclDefault, root),
				q(doc+"#owner", aclMode, aclRead),
				q(doc+"#owner", aclMode, aclWrite),
				q(doc+"#owner", aclMode, aclControl),
				q(doc+"#owner", aclMode, aclRead), // duplicate
				q(doc+"#owner", aclAgent, alice),  // duplicate
			},
			want: []Authorization{{
				ID: doc + "#owner", Agents: []string{alice}, AgentClasses: []string{AuthenticatedAgent},
				Origins: []string{"https://app.example"}, AccessTo: []string{root}, Default: []string{root},
				Modes: Read | Write | Control,
			}},
		},
		{
			name: "blank node, legacy defaultForNew, append, statements before type",
			quads: []rdf.Quad{
				q("_:b0", aclAgentClass, FOAFAgent),
				q("_:b0", aclDefaultForNew, root),
				q("_:b0", aclMode, aclAppend),
				q("_:b0", rdf.RDFType, aclAuthorization),
			},
			want: []Authorization{{ID: "_:b0", AgentClasses: []string{FOAFAgent}, Default: []string{root}, Modes: Append}},
		},
		{
			name: "unknown mode ignored, agentGroup kept",
			quads: []rdf.Quad{
				q("_:a", rdf.RDFType, aclAuthorization),
				q("_:a", aclAgentGroup, "http://h/groups#g"),
				q("_:a", aclAccessTo, root),
				q("_:a", aclMode, NamespaceACL+"Fly"),
				q("_:a", aclMode, aclRead),
			},
			want: []Authorization{{ID: "_:a", Groups: []string{"http://h/groups#g"}, AccessTo: []string{root}, Modes: Read}},
		},
		{
			name: "without modes, without target, untyped: dropped",
			quads: []rdf.Quad{
				q("_:nomode", rdf.RDFType, aclAuthorization),
				q("_:nomode", aclAccessTo, root),
				q("_:nomode", aclMode, NamespaceACL+"Fly"),
				q("_:notarget", rdf.RDFType, aclAuthorization),
				q("_:notarget", aclMode, aclRead),
				q("_:untyped", aclAccessTo, root),
				q("_:untyped", aclMode, aclRead),
			},
			want: []Authorization{},
		},
		{name: "empty", quads: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseACL(tt.quads)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseACL =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseACLErrors(t *testing.T) {
	typ := q("_:a", rdf.RDFType, aclAuthorization)
	tests := []struct {
		bad  rdf.Quad
		want string
	}{
		{rdf.Quad{S: rdf.Blank("a"), P: rdf.IRI(aclAgent), O: rdf.Literal("http://x/#me", "")},
			"Invalid ACL document: authorization _:a: acl:agent must be an IRI, not a literal"},
		{rdf.Quad{S: rdf.Blank("a"), P: rdf.IRI(aclAccessTo), O: rdf.Blank("x")},
			"Invalid ACL document: authorization _:a: acl:accessTo must be an IRI, not a blank node"},
		{rdf.Quad{S: rdf.Blank("a"), P: rdf.IRI(aclMode), O: rdf.Literal("Read", "")},
			"Invalid ACL document: authorization _:a: acl:mode must be an IRI, not a literal"},
	}
	for _, tt := range tests {
		_, err := ParseACL([]rdf.Quad{typ, tt.bad})
		if !errors.Is(err, ErrInvalidACL) || err.Error() != tt.want {
			t.Errorf("ParseACL error = %v, want %q", err, tt.want)
		}
	}
}

func TestBuildACLRoundTrip(t *testing.T) {
	auths := []Authorization{
		{ID: "http://h/alice/.acl#owner", Agents: []string{"http://h/alice/profile/card#me"},
			AccessTo: []string{"http://h/alice/"}, Default: []string{"http://h/alice/"}, Modes: Read | Write | Control},
		{ID: "_:pub", AgentClasses: []string{FOAFAgent}, Origins: []string{"https://a.example"},
			AccessTo: []string{"http://h/alice/profile/card"}, Modes: Read},
		{ID: "_:auth2", AgentClasses: []string{AuthenticatedAgent}, Default: []string{"http://h/alice/inbox/"}, Modes: Append},
	}
	quads := BuildACL(auths)
	got, err := ParseACL(quads)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, auths) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, auths)
	}
	// An empty ID becomes a blank node.
	got, _ = ParseACL(BuildACL([]Authorization{{AgentClasses: []string{FOAFAgent}, AccessTo: []string{"http://h/"}, Modes: Read}}))
	if len(got) != 1 || got[0].ID != "_:auth0" {
		t.Errorf("empty ID: %+v", got)
	}
}

func TestACLURL(t *testing.T) {
	tests := []struct{ resource, acl string }{
		{"http://h/alice/", "http://h/alice/.acl"},
		{"http://h/alice/c/", "http://h/alice/c/.acl"},
		{"http://h/alice/c/doc", "http://h/alice/c/doc.acl"},
	}
	for _, tt := range tests {
		if got := ACLURL(tt.resource); got != tt.acl {
			t.Errorf("ACLURL(%q) = %q, want %q", tt.resource, got, tt.acl)
		}
		if got, ok := ACLSubject(tt.acl); !ok || got != tt.resource {
			t.Errorf("ACLSubject(%q) = %q, %v", tt.acl, got, ok)
		}
	}
	if _, ok := ACLSubject("http://h/alice/doc"); ok {
		t.Error("ACLSubject of a non-ACL URL reported ok")
	}
}

func TestModeStringAndWACAllow(t *testing.T) {
	tests := []struct {
		m    Mode
		want string
	}{
		{0, ""},
		{Read, "read"},
		{Control | Read, "read control"},
		{Read | Write | Append | Control, "read write append control"},
		{Append, "append"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Mode(%d).String() = %q, want %q", tt.m, got, tt.want)
		}
	}
	if got, want := WACAllow(Read|Write|Control, Read), `user="read write append control",public="read"`; got != want {
		t.Errorf("WACAllow = %s, want %s", got, want)
	}
	if got, want := WACAllow(0, 0), `user="",public=""`; got != want {
		t.Errorf("WACAllow(0, 0) = %s, want %s", got, want)
	}
	grants := []struct {
		have, need Mode
		want       bool
	}{
		{Write, Append, true},
		{Write, Write | Append, true},
		{Append, Write, false},
		{Read | Write, Control, false},
		{Read | Control, Read | Control, true},
		{0, Read, false},
	}
	for _, g := range grants {
		if got := g.have.Grants(g.need); got != g.want {
			t.Errorf("%q.Grants(%q) = %v, want %v", g.have, g.need, got, g.want)
		}
	}
}

// acl:accessTo and acl:default match however the resource's URL is
// spelled: they are kept as the server writes resource URLs.
func TestParseACLCanonicalURLs(t *testing.T) {
	const want = "http://h/alice/caf%C3%A9"
	for _, iri := range []string{"http://h/alice/café", "http://h/alice/caf%c3%a9", want} {
		got, err := ParseACL(BuildACL([]Authorization{{AgentClasses: []string{FOAFAgent}, AccessTo: []string{iri}, Default: []string{iri + "/"}, Modes: Read}}))
		if err != nil || len(got) != 1 || !slices.Equal(got[0].AccessTo, []string{want}) || !slices.Equal(got[0].Default, []string{want + "/"}) {
			t.Errorf("ParseACL with acl:accessTo <%s> = %+v, %v, want %s", iri, got, err, want)
		}
	}
}
