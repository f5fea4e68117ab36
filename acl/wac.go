package acl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"podserver/podurl"
	"podserver/rdf"
)

// Vocabulary of Web Access Control (http://www.w3.org/ns/auth/acl#).
const (
	// NamespaceACL is the Web Access Control namespace.
	NamespaceACL = "http://www.w3.org/ns/auth/acl#"
	// FOAFAgent is the agent class of every agent, authenticated or not.
	FOAFAgent = "http://xmlns.com/foaf/0.1/Agent"
	// AuthenticatedAgent is the agent class of every authenticated agent.
	AuthenticatedAgent = NamespaceACL + "AuthenticatedAgent"

	aclAuthorization = NamespaceACL + "Authorization"
	aclAgent         = NamespaceACL + "agent"
	aclAgentClass    = NamespaceACL + "agentClass"
	aclAgentGroup    = NamespaceACL + "agentGroup"
	aclOrigin        = NamespaceACL + "origin"
	aclClient        = NamespaceACL + "client"
	aclAccessTo      = NamespaceACL + "accessTo"
	aclDefault       = NamespaceACL + "default"
	aclDefaultForNew = NamespaceACL + "defaultForNew"
	aclMode          = NamespaceACL + "mode"
	aclRead          = NamespaceACL + "Read"
	aclWrite         = NamespaceACL + "Write"
	aclAppend        = NamespaceACL + "Append"
	aclControl       = NamespaceACL + "Control"
)

// aclSuffix names the ACL document of a resource: R + ".acl".
const aclSuffix = ".acl"

// ACLURL returns the URL of the ACL document of resourceURL: resourceURL +
// ".acl" (for a container ".../c/" that is ".../c/.acl").
func ACLURL(resourceURL string) string {
	return resourceURL + aclSuffix
}

// ACLSubject reports whether u names an ACL document and, if so, returns the
// resource it governs (the inverse of ACLURL).
func ACLSubject(u string) (resourceURL string, ok bool) {
	return strings.CutSuffix(u, aclSuffix)
}

// Authorization is one acl:Authorization of an ACL document. ID is the
// subject: an absolute IRI, or "_:label" for a blank node. All IRIs are
// absolute. Agents are WebIDs; Groups are groups of WebIDs (see Evaluator); AgentClasses may hold FOAFAgent and
// AuthenticatedAgent (others never match); Origins are web origins such as
// "https://app.example". AccessTo lists the resources it governs itself,
// Default the containers whose descendants inherit it.
type Authorization struct {
	ID           string
	Agents       []string
	AgentClasses []string
	// Groups lists the acl:agentGroup groups (vcard:Group IRIs) whose
	// members it applies to.
	Groups  []string
	Origins []string
	// Clients lists the acl:client client ids (Solid-OIDC client_id
	// values: a Client ID Document's URL, or an id an identity provider
	// registered) the authorization is restricted to; empty means every
	// client (see Evaluator).
	Clients  []string
	AccessTo []string
	Default  []string
	Modes    Mode
}

// ParseACL reads the authorizations of an ACL document: every subject typed
// acl:Authorization, with acl:agent, acl:agentClass, acl:origin,
// acl:client, acl:accessTo, acl:default (or the legacy acl:defaultForNew)
// and acl:mode (acl:Read, acl:Write, acl:Append, acl:Control). Quads of
// every graph are read.
//
// An acl:client value is an IRI (a Client ID Document) or a plain string
// literal (an identity provider's opaque client id, which as a Turtle IRI
// would resolve against the document's URL); other literals and blank
// nodes are an error wrapping ErrInvalidACL.
//
// acl:accessTo and acl:default values are kept in the form the server
// writes resource URLs in (podurl.CanonicalURL), so "…/café", "…/caf%c3%a9"
// and "…/caf%C3%A9" all name the resource the server calls
// "…/caf%C3%A9".
//
// acl:agentGroup values are kept in Groups. Unknown modes and other
// predicates are ignored. Authorizations
// without a known mode, or without acl:accessTo and acl:default, grant
// nothing and are left out. A value that must be an IRI but is a literal or
// a blank node is an error wrapping ErrInvalidACL, so a bad document can be
// refused when it is written. Authorizations are returned in the order their
// type statements appear, each list in first-appearance order without
// duplicates.
func ParseACL(quads []rdf.Quad) ([]Authorization, error) {
	index := make(map[string]int)
	var auths []Authorization
	for _, q := range quads {
		if q.P.Kind == rdf.KindIRI && q.P.Value == rdf.RDFType &&
			q.O.Kind == rdf.KindIRI && q.O.Value == aclAuthorization {
			id, ok := subjectID(q.S)
			if !ok {
				continue
			}
			if _, seen := index[id]; !seen {
				index[id] = len(auths)
				auths = append(auths, Authorization{ID: id})
			}
		}
	}
	if len(auths) == 0 {
		return nil, nil
	}
	for _, q := range quads {
		id, ok := subjectID(q.S)
		if !ok || q.P.Kind != rdf.KindIRI {
			continue
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		a := &auths[i]
		var list *[]string
		switch q.P.Value {
		case aclAgent:
			list = &a.Agents
		case aclAgentClass:
			list = &a.AgentClasses
		case aclOrigin:
			list = &a.Origins
		case aclAccessTo:
			list = &a.AccessTo
		case aclDefault, aclDefaultForNew:
			list = &a.Default
		case aclMode:
			if q.O.Kind != rdf.KindIRI {
				return nil, notIRI(id, q)
			}
			a.Modes |= modeOf(q.O.Value)
			continue
		case aclAgentGroup:
			list = &a.Groups
		case aclClient:
			v, ok := clientID(q.O)
			if !ok {
				return nil, notClient(id, q)
			}
			if !slices.Contains(a.Clients, v) {
				a.Clients = append(a.Clients, v)
			}
			continue
		default:
			continue
		}
		if q.O.Kind != rdf.KindIRI {
			return nil, notIRI(id, q)
		}
		v := q.O.Value
		if list == &a.AccessTo || list == &a.Default {
			v = podurl.CanonicalURL(v)
		}
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	return slices.DeleteFunc(auths, func(a Authorization) bool {
		return a.Modes == 0 || len(a.AccessTo)+len(a.Default) == 0
	}), nil
}

// BuildACL returns the quads of an ACL document holding auths, in the
// default graph; ParseACL(BuildACL(auths)) gives auths back (for
// authorizations that grant something). An empty ID becomes a blank node;
// a client id that is an absolute IRI is written as an IRI, any other as a
// string literal.
func BuildACL(auths []Authorization) []rdf.Quad {
	var quads []rdf.Quad
	for i, a := range auths {
		var s rdf.Term
		switch {
		case a.ID == "":
			s = rdf.Blank("auth" + strconv.Itoa(i))
		case strings.HasPrefix(a.ID, "_:"):
			s = rdf.Blank(a.ID[2:])
		default:
			s = rdf.IRI(a.ID)
		}
		add := func(p, o string) {
			quads = append(quads, rdf.Quad{S: s, P: rdf.IRI(p), O: rdf.IRI(o)})
		}
		add(rdf.RDFType, aclAuthorization)
		for _, v := range a.Agents {
			add(aclAgent, v)
		}
		for _, v := range a.AgentClasses {
			add(aclAgentClass, v)
		}
		for _, v := range a.Groups {
			add(aclAgentGroup, v)
		}
		for _, v := range a.Origins {
			add(aclOrigin, v)
		}
		for _, v := range a.Clients {
			o := rdf.IRI(v)
			if !isAbsoluteIRI(v) {
				o = rdf.Literal(v, "")
			}
			quads = append(quads, rdf.Quad{S: s, P: rdf.IRI(aclClient), O: o})
		}
		for _, v := range a.AccessTo {
			add(aclAccessTo, v)
		}
		for _, v := range a.Default {
			add(aclDefault, v)
		}
		for _, m := range [...]struct {
			mode Mode
			iri  string
		}{{Read, aclRead}, {Write, aclWrite}, {Append, aclAppend}, {Control, aclControl}} {
			if a.Modes&m.mode != 0 {
				add(aclMode, m.iri)
			}
		}
	}
	return quads
}

// subjectID names a subject term: its IRI, or "_:" + label for a blank node.
func subjectID(t rdf.Term) (string, bool) {
	switch t.Kind {
	case rdf.KindIRI:
		return t.Value, true
	case rdf.KindBlank:
		return "_:" + t.Value, true
	}
	return "", false
}

func modeOf(iri string) Mode {
	switch iri {
	case aclRead:
		return Read
	case aclWrite:
		return Write
	case aclAppend:
		return Append
	case aclControl:
		return Control
	}
	return 0
}

// clientID returns the client id an acl:client object names: an IRI, or
// the lexical form of a plain string literal.
func clientID(t rdf.Term) (string, bool) {
	switch {
	case t.Kind == rdf.KindIRI:
		return t.Value, true
	case t.Kind == rdf.KindLiteral && t.Datatype == rdf.XSDString && t.Value != "":
		return t.Value, true
	}
	return "", false
}

// isAbsoluteIRI reports whether v starts with a URI scheme and ":".
func isAbsoluteIRI(v string) bool {
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

func notClient(id string, q rdf.Quad) error {
	kind := "a blank node"
	switch {
	case q.O.Kind != rdf.KindLiteral:
	case q.O.Datatype == rdf.XSDString:
		kind = "an empty string"
	case q.O.Lang != "":
		kind = "a language-tagged string"
	default:
		kind = "a literal of type " + q.O.Datatype
	}
	return fmt.Errorf("%w: authorization %s: acl:client must be an IRI or a non-empty string, not %s", ErrInvalidACL, id, kind)
}

func notIRI(id string, q rdf.Quad) error {
	name := strings.TrimPrefix(q.P.Value, NamespaceACL)
	kind := "a literal"
	if q.O.Kind == rdf.KindBlank {
		kind = "a blank node"
	}
	return fmt.Errorf("%w: authorization %s: acl:%s must be an IRI, not %s", ErrInvalidACL, id, name, kind)
}
