package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/rdf"
)

// allModes is full control.
const allModes = acl.Read | acl.Write | acl.Append | acl.Control

// authorizer implements ldp.Authorizer with Web Access Control, plus two
// rules about keys: an owner key has full control of its own pod whatever
// the ACLs say (so an owner can never lock themselves out), and an app key
// never has Control (only owners edit ACLs).
type authorizer struct{ s *Server }

func (a authorizer) Modes(ctx context.Context, r *ldp.Request, p string) (acl.Mode, error) {
	pr := r.Principal
	if pr.Owner && pr.Pod == r.Target.Pod {
		return allModes, nil
	}
	m, err := a.s.eval.Allowed(ctx, acl.Request{
		ResourceURL: r.Target.URL(p),
		RootURL:     r.Target.Root,
		Agent:       pr.Agent,
		Origin:      r.Origin,
	})
	if err != nil {
		return 0, fmt.Errorf("evaluate access to %s: %w", p, err)
	}
	if !pr.Owner {
		m &^= acl.Control
	}
	return m, nil
}

// locator reads ACL documents from the store for the evaluator.
type locator struct{ s *Server }

func (l locator) ACL(ctx context.Context, aclURL string) ([]rdf.Quad, bool, error) {
	pod, rel, ok := l.s.PodOfURL(aclURL)
	if !ok {
		return nil, false, nil
	}
	res, err := l.s.repo.Get(ctx, ldp.StoragePath(pod, rel))
	if errors.Is(err, ldp.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	q, err := ldp.ParseRDF(res.Meta.ContentType, res.Body, aclURL)
	if err != nil {
		// A stored ACL that no longer parses grants nothing rather than
		// failing every request under it.
		l.s.log.Warn("unreadable ACL document", "url", aclURL, "err", err)
		return nil, true, nil
	}
	return q, true, nil
}

// validateWrite checks documents whose content the server relies on.
func (s *Server) validateWrite(ctx context.Context, r *ldp.Request, p, mt string, body []byte) error {
	_, rel := ldp.SplitStoragePath(p)
	if rel == "settings/subscriptions" {
		if mt != ldp.MediaJSONLD && mt != ldp.MediaJSON {
			return apierr.Newf(http.StatusUnsupportedMediaType, "settings/subscriptions must be JSON (application/json or application/ld+json), not %s", mt)
		}
		if _, err := acl.ParseSubscriptions(body); err != nil {
			return apierr.Wrap(http.StatusBadRequest, err.Error(), err)
		}
	}
	return nil
}

// changed reacts to durable writes: any change to an ACL document, or a
// delete (which removes the resource's ACL too), clears the ACL cache.
func (s *Server) changed(ctx context.Context, r *ldp.Request, ch ldp.Change) {
	if ldp.IsACL(ch.Path) || ch.Kind == ldp.Deleted {
		s.eval.Invalidate()
	}
}
