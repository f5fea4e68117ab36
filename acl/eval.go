package acl

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"podserver/rdf"
	"podserver/store"
)

// Locator reads ACL documents, and the group documents they name, for an
// Evaluator.
type Locator interface {
	// ACL returns the parsed RDF document at aclURL (an ACL document, or the
	// document of an acl:agentGroup group), with found false (and no
	// error) when it does not exist or is not one the server can read.
	ACL(ctx context.Context, aclURL string) (quads []rdf.Quad, found bool, err error)
}

// vcardHasMember lists a vcard:Group's members.
const vcardHasMember = "http://www.w3.org/2006/vcard/ns#hasMember"

// Request is what an access decision is about. URLs are absolute, without
// query or fragment.
type Request struct {
	// ResourceURL is the resource accessed. For an ACL document (R.acl) the
	// decision is made for R: the caller must then ask for Control.
	ResourceURL string
	// RootURL is the pod root (it ends in "/"); inheritance stops there.
	RootURL string
	// Agent is the WebID of the authenticated agent, "" if anonymous.
	Agent string
	// Origin is the request's Origin header, "" if it had none.
	Origin string
	// ClientID is the client the agent's credential names (a Solid-OIDC
	// token's client_id), "" when it names none (API keys, HTTP
	// signatures, anonymous requests).
	ClientID string
}

// Evaluator decides Web Access Control requests. It reads ACL documents
// through its Locator and caches them, parsed, per ACL URL (including "not
// found"), while its watch reports no change of any ACL document (see
// NewEvaluator). It is safe for concurrent use.
//
// The rules:
//
//   - The ACL of resource R is R+".acl" (of container ".../c/", ".../c/.acl").
//     If it exists, its authorizations with acl:accessTo R apply, and
//     nothing is inherited.
//   - Otherwise the nearest ancestor container C (up to and including the
//     root) whose ACL exists decides, with its authorizations that have
//     acl:default C. Without any ACL up to the root, access is denied.
//   - An authorization applies to an agent it lists in acl:agent, to
//     everyone when its acl:agentClass is foaf:Agent, to authenticated
//     agents when it is acl:AuthenticatedAgent, and to the members of the
//     groups it lists in acl:agentGroup: the WebIDs that the group's
//     document (the group IRI without its fragment, read through the
//     Locator) gives as vcard:hasMember of the group IRI; the document
//     must be in the decided resource's pod (under RootURL). Group documents
//     are read when a decision needs them, not cached, so a membership
//     change applies to the next request; a group whose document the
//     Locator cannot read has no members.
//   - Origin rule: an authorization that lists acl:origin applies only when
//     the request has no Origin header or its Origin is one of them
//     (compared case-insensitively, ignoring a trailing "/"); authorizations
//     without acl:origin apply whatever the origin.
//   - Client rule: an authorization that lists acl:client applies only when
//     the request's client id is one of them (compared exactly); a request
//     without a client id is never one of them. Authorizations without
//     acl:client apply whatever the client. The client rule, the origin
//     rule and the agent rules must all hold (see the package doc).
//   - The modes granted are the union of the applying authorizations'
//     modes; Write implies Append.
type Evaluator struct {
	loc   Locator
	cache *aclCache
}

// defaultCacheSize bounds the number of ACL documents an Evaluator caches.
const defaultCacheSize = 10000

// NewEvaluator returns an Evaluator reading ACL documents through loc.
// watch must advance whenever an ACL document is written or deleted (it
// follows the store's change feed, e.g. a store.Watch of ldp.ACLChanged);
// the Evaluator caches what it read under a generation only while that
// generation is current, so a change applies to the next decision that
// starts after it is durable. A nil watch caches nothing.
func NewEvaluator(loc Locator, watch *store.Watch) *Evaluator {
	return &Evaluator{loc: loc, cache: newACLCache(watch, defaultCacheSize)}
}

// Effective returns the authorizations that govern resourceURL under
// rootURL: aclURL is the ACL document they come from ("" when no ACL exists
// up to the root, which denies everything), inherited tells whether it is an
// ancestor's ACL (acl:default) rather than the resource's own (acl:accessTo).
// For an ACL document R.acl it answers for R. The returned authorizations
// are shared with the cache and must not be modified.
func (e *Evaluator) Effective(ctx context.Context, resourceURL, rootURL string) (aclURL string, auths []Authorization, inherited bool, err error) {
	return e.effective(ctx, nil, resourceURL, rootURL)
}

// effective is Effective, reading the documents the cache lacks through
// via when it is not nil (see AllowedVia).
func (e *Evaluator) effective(ctx context.Context, via Locator, resourceURL, rootURL string) (aclURL string, auths []Authorization, inherited bool, err error) {
	subject, err := checkURLs(resourceURL, rootURL)
	if err != nil {
		return "", nil, false, err
	}
	aclURL = ACLURL(subject)
	doc, err := e.load(ctx, via, aclURL)
	if err != nil {
		return "", nil, false, err
	}
	if doc.found {
		return aclURL, selectAuths(doc.auths, subject, false), false, nil
	}
	for c := parent(subject, rootURL); c != ""; c = parent(c, rootURL) {
		aclURL = ACLURL(c)
		doc, err := e.load(ctx, via, aclURL)
		if err != nil {
			return "", nil, false, err
		}
		if doc.found {
			return aclURL, selectAuths(doc.auths, c, true), true, nil
		}
	}
	return "", nil, false, nil
}

// Allowed returns the modes req.Agent has on req.ResourceURL from
// req.Origin through req.ClientID, with implied modes added. On error it
// returns no modes.
func (e *Evaluator) Allowed(ctx context.Context, req Request) (Mode, error) {
	_, auths, _, err := e.Effective(ctx, req.ResourceURL, req.RootURL)
	if err != nil {
		return 0, err
	}
	return e.grant(ctx, nil, auths, req)
}

// AllowedVia is Allowed for a caller holding a read of the store (a
// snapshot or a transaction): the ACL documents the cache lacks are read
// through via, which reads them from that same view, and are not cached
// (the view may be older than the cache's generation). A caller that asks
// the Evaluator's own Locator while its view is open could wait for a
// second connection of a store whose connections it already holds.
func (e *Evaluator) AllowedVia(ctx context.Context, via Locator, req Request) (Mode, error) {
	_, auths, _, err := e.effective(ctx, via, req.ResourceURL, req.RootURL)
	if err != nil {
		return 0, err
	}
	return e.grant(ctx, via, auths, req)
}

// Modes returns the modes of req (user) and of an anonymous request, with
// no client, from the same Origin (public), for the WAC-Allow header.
func (e *Evaluator) Modes(ctx context.Context, req Request) (user, public Mode, err error) {
	_, auths, _, err := e.Effective(ctx, req.ResourceURL, req.RootURL)
	if err != nil {
		return 0, 0, err
	}
	if user, err = e.grant(ctx, nil, auths, req); err != nil {
		return 0, 0, err
	}
	public, err = e.grant(ctx, nil, auths, Request{Origin: req.Origin})
	return user, public, err
}

// Check returns nil when req is granted every mode in need, ErrUnauthenticated
// when it is not and the request is anonymous, ErrForbidden when it is not
// and the agent is known. Other errors mean the decision could not be made
// (deny).
func (e *Evaluator) Check(ctx context.Context, req Request, need Mode) error {
	m, err := e.Allowed(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case m.Grants(need):
		return nil
	case req.Agent == "":
		return ErrUnauthenticated
	default:
		return ErrForbidden
	}
}

// load returns the ACL document at aclURL, from the cache when it can.
// Locator errors are not cached; documents that do not parse are.
func (e *Evaluator) load(ctx context.Context, via Locator, aclURL string) (aclDoc, error) {
	if doc, ok := e.cache.get(aclURL); ok {
		return doc, doc.err
	}
	gen := e.cache.generation()
	loc := e.loc
	if via != nil {
		loc = via
	}
	quads, found, err := loc.ACL(ctx, aclURL)
	if err != nil {
		return aclDoc{}, fmt.Errorf("acl: read %s: %w", aclURL, err)
	}
	doc := aclDoc{found: found, gen: gen}
	if found {
		doc.auths, err = ParseACL(quads)
		if err != nil {
			doc.err = fmt.Errorf("acl: %s: %w", aclURL, err)
			doc.auths = nil
		}
	}
	if via == nil {
		e.cache.put(aclURL, doc)
	}
	return doc, doc.err
}

// checkURLs validates a request's URLs and returns the resource the decision
// is about (R for R.acl).
func checkURLs(resourceURL, rootURL string) (string, error) {
	subject, _ := ACLSubject(resourceURL)
	if !strings.HasSuffix(rootURL, "/") || !strings.Contains(rootURL, "://") ||
		!strings.HasPrefix(subject, rootURL) || strings.ContainsAny(resourceURL, "?#") {
		return "", fmt.Errorf("%w: %q is not under %q", ErrOutsideRoot, resourceURL, rootURL)
	}
	return subject, nil
}

// parent returns the container holding u ("http://h/a/b/" for both
// "http://h/a/b/c" and "http://h/a/b/c/"), or "" when u is the root.
func parent(u, root string) string {
	if len(u) <= len(root) {
		return ""
	}
	trimmed := strings.TrimSuffix(u, "/")
	p := trimmed[:strings.LastIndexByte(trimmed, '/')+1]
	if len(p) < len(root) {
		return ""
	}
	return p
}

// selectAuths returns the authorizations of a document that govern target:
// through acl:default when inherited, else through acl:accessTo.
func selectAuths(auths []Authorization, target string, inherited bool) []Authorization {
	var out []Authorization
	for _, a := range auths {
		list := a.AccessTo
		if inherited {
			list = a.Default
		}
		if slices.Contains(list, target) {
			out = append(out, a)
		}
	}
	return out
}

// grant returns the union of the modes of the authorizations of auths that
// apply to req's agent ("" for anonymous) from its origin ("" for none)
// through its client ("" for none), with implied modes. Only the agent,
// origin and client of req are read. Group documents are read only for
// authorizations that would add modes and apply to nobody else, at most
// once each per call.
func (e *Evaluator) grant(ctx context.Context, via Locator, auths []Authorization, req Request) (Mode, error) {
	agent := req.Agent
	var m Mode
	var member map[string]bool
	for i := range auths {
		a := &auths[i]
		if !originAllowed(a, req.Origin) || !clientAllowed(a, req.ClientID) || m.Grants(a.Modes) {
			continue
		}
		if applies(a, agent) {
			m |= a.Modes
			continue
		}
		if agent == "" {
			continue
		}
		for _, g := range a.Groups {
			in, seen := member[g]
			if !seen {
				var err error
				if in, err = e.isMember(ctx, via, g, agent, req.RootURL); err != nil {
					return 0, err
				}
				if member == nil {
					member = map[string]bool{}
				}
				member[g] = in
			}
			if in {
				m |= a.Modes
				break
			}
		}
	}
	return m.Implied(), nil
}

// originAllowed applies the origin rule to a.
func originAllowed(a *Authorization, origin string) bool {
	return len(a.Origins) == 0 || origin == "" || slices.ContainsFunc(a.Origins, func(o string) bool {
		return sameOrigin(o, origin)
	})
}

// clientAllowed applies the client rule to a: a client-restricted
// authorization needs a request made through one of its clients.
func clientAllowed(a *Authorization, client string) bool {
	return len(a.Clients) == 0 || client != "" && slices.Contains(a.Clients, client)
}

// applies reports whether a names agent, or a class agent belongs to.
func applies(a *Authorization, agent string) bool {
	if agent != "" && slices.Contains(a.Agents, agent) {
		return true
	}
	for _, c := range a.AgentClasses {
		if c == FOAFAgent || (c == AuthenticatedAgent && agent != "") {
			return true
		}
	}
	return false
}

// isMember reports whether the group document of group lists agent as a
// vcard:hasMember of group. Only a group document in the pod of the
// decided resource (under rootURL) counts: its owner is the one whose ACL
// names the group. A group document elsewhere has no members, since
// reading it regardless of its own ACL would let anyone who writes an ACL
// naming it learn, by the access they get, what it says.
func (e *Evaluator) isMember(ctx context.Context, via Locator, group, agent, rootURL string) (bool, error) {
	doc, _, _ := strings.Cut(group, "#")
	if !strings.HasPrefix(doc, rootURL) {
		return false, nil
	}
	loc := e.loc
	if via != nil {
		loc = via
	}
	quads, found, err := loc.ACL(ctx, doc)
	if err != nil {
		return false, fmt.Errorf("acl: read group %s: %w", group, err)
	}
	if !found {
		return false, nil
	}
	for _, q := range quads {
		if q.S.Kind == rdf.KindIRI && q.S.Value == group && q.P.Kind == rdf.KindIRI && q.P.Value == vcardHasMember &&
			q.O.Kind == rdf.KindIRI && q.O.Value == agent {
			return true, nil
		}
	}
	return false, nil
}

// sameOrigin compares an acl:origin IRI with an Origin header value.
func sameOrigin(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}
