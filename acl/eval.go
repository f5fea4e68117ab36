package acl

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"podserver/rdf"
)

// Locator reads ACL documents for an Evaluator.
type Locator interface {
	// ACL returns the parsed ACL document at aclURL, with found false (and
	// no error) when it does not exist.
	ACL(ctx context.Context, aclURL string) (quads []rdf.Quad, found bool, err error)
}

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
}

// Evaluator decides Web Access Control requests. It reads ACL documents
// through its Locator and caches them, parsed, per ACL URL (including "not
// found"), until Invalidate. It is safe for concurrent use.
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
//     everyone when its acl:agentClass is foaf:Agent, and to authenticated
//     agents when it is acl:AuthenticatedAgent.
//   - Origin rule: an authorization that lists acl:origin applies only when
//     the request has no Origin header or its Origin is one of them
//     (compared case-insensitively, ignoring a trailing "/"); authorizations
//     without acl:origin apply whatever the origin.
//   - The modes granted are the union of the applying authorizations'
//     modes; Write implies Append.
type Evaluator struct {
	loc   Locator
	cache aclCache
}

// defaultCacheSize bounds the number of ACL documents an Evaluator caches.
const defaultCacheSize = 10000

// NewEvaluator returns an Evaluator reading ACL documents through loc.
func NewEvaluator(loc Locator) *Evaluator {
	return &Evaluator{loc: loc, cache: newACLCache(defaultCacheSize)}
}

// Invalidate forgets every cached ACL document. Call it whenever an ACL
// document is written or deleted.
func (e *Evaluator) Invalidate() {
	e.cache.clear()
}

// Effective returns the authorizations that govern resourceURL under
// rootURL: aclURL is the ACL document they come from ("" when no ACL exists
// up to the root, which denies everything), inherited tells whether it is an
// ancestor's ACL (acl:default) rather than the resource's own (acl:accessTo).
// For an ACL document R.acl it answers for R. The returned authorizations
// are shared with the cache and must not be modified.
func (e *Evaluator) Effective(ctx context.Context, resourceURL, rootURL string) (aclURL string, auths []Authorization, inherited bool, err error) {
	subject, err := checkURLs(resourceURL, rootURL)
	if err != nil {
		return "", nil, false, err
	}
	aclURL = ACLURL(subject)
	doc, err := e.load(ctx, aclURL)
	if err != nil {
		return "", nil, false, err
	}
	if doc.found {
		return aclURL, selectAuths(doc.auths, subject, false), false, nil
	}
	for c := parent(subject, rootURL); c != ""; c = parent(c, rootURL) {
		aclURL = ACLURL(c)
		doc, err := e.load(ctx, aclURL)
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
// req.Origin, with implied modes added. On error it returns no modes.
func (e *Evaluator) Allowed(ctx context.Context, req Request) (Mode, error) {
	_, auths, _, err := e.Effective(ctx, req.ResourceURL, req.RootURL)
	if err != nil {
		return 0, err
	}
	return grant(auths, req.Agent, req.Origin), nil
}

// Modes returns the modes of req.Agent (user) and of an anonymous agent with
// the same Origin (public), for the WAC-Allow header.
func (e *Evaluator) Modes(ctx context.Context, req Request) (user, public Mode, err error) {
	_, auths, _, err := e.Effective(ctx, req.ResourceURL, req.RootURL)
	if err != nil {
		return 0, 0, err
	}
	return grant(auths, req.Agent, req.Origin), grant(auths, "", req.Origin), nil
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
func (e *Evaluator) load(ctx context.Context, aclURL string) (aclDoc, error) {
	if doc, ok := e.cache.get(aclURL); ok {
		return doc, doc.err
	}
	gen := e.cache.generation()
	quads, found, err := e.loc.ACL(ctx, aclURL)
	if err != nil {
		return aclDoc{}, fmt.Errorf("acl: read %s: %w", aclURL, err)
	}
	doc := aclDoc{found: found}
	if found {
		doc.auths, err = ParseACL(quads)
		if err != nil {
			doc.err = fmt.Errorf("acl: %s: %w", aclURL, err)
			doc.auths = nil
		}
	}
	e.cache.put(aclURL, doc, gen)
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

// grant returns the union of the modes of the authorizations that apply to
// agent ("" for anonymous) from origin ("" for none), with implied modes.
func grant(auths []Authorization, agent, origin string) Mode {
	var m Mode
	for i := range auths {
		if applies(&auths[i], agent, origin) {
			m |= auths[i].Modes
		}
	}
	return m.Implied()
}

func applies(a *Authorization, agent, origin string) bool {
	if len(a.Origins) > 0 && origin != "" && !slices.ContainsFunc(a.Origins, func(o string) bool {
		return sameOrigin(o, origin)
	}) {
		return false
	}
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

// sameOrigin compares an acl:origin IRI with an Origin header value.
func sameOrigin(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}
