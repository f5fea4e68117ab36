package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/rdf"
	"podserver/store"
)

// allModes is full control.
const allModes = acl.Read | acl.Write | acl.Append | acl.Control

// ownerWrites are the modes that only the pod's owner key has on the
// pod's settings/ (see ownerOnly).
const ownerWrites = acl.Write | acl.Append | acl.Control

// ownerOnly reports whether pod-relative path rel is under settings/: the
// pod's settings documents (subscriptions, publish limits), its key API and
// their ACL documents, which only the pod's owner key may change.
func ownerOnly(rel string) bool { return strings.HasPrefix(rel, settingsDir) }

// settingsDir is the pod-relative container of a pod's settings.
const settingsDir = "settings/"

// authorizer implements ldp.Authorizer with Web Access Control, plus three
// rules about keys: an owner key has full control of its own pod whatever
// the ACLs say (so an owner can never lock themselves out); an app key
// never has Control, whatever an ACL grants its WebID (our rule for apps:
// an app acts for its pod's owner but does not change who may access
// what); and settings/ is the owner's:
// on it and everything under it, every other principal (an app key of the
// pod, a key of another pod, a signed remote agent, anonymous) has at most
// Read, whatever an ACL grants. Because Control of settings/ is withheld
// too, nobody but the owner reads or writes the ACL documents there, and
// no ACL can hand out a write of settings.
type authorizer struct{ s *Server }

// Modes implements ldp.Authorizer.
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
		ClientID:    pr.ClientID,
	})
	if err != nil {
		return 0, fmt.Errorf("evaluate access to %s: %w", p, err)
	}
	// Control is what WAC grants any other agent: anyone an ACL gives
	// acl:Control (foaf:Agent, another server's WebID, another pod's
	// owner) reads and writes that ACL.
	if pr.KeyID != "" && !pr.Owner {
		m &^= acl.Control
	}
	if _, rel := ldp.SplitStoragePath(p); ownerOnly(rel) {
		m &^= ownerWrites
	}
	return m, nil
}

// locator reads ACL documents from the store for the evaluator.
type locator struct{ s *Server }

func (l locator) ACL(ctx context.Context, aclURL string) ([]rdf.Quad, bool, error) {
	return readACL(ctx, l.s, nil, aclURL)
}

// readerLocator reads ACL documents through a read the caller holds (see
// acl.Evaluator.AllowedVia).
type readerLocator struct {
	s  *Server
	rd store.Reader
}

func (l readerLocator) ACL(ctx context.Context, aclURL string) ([]rdf.Quad, bool, error) {
	return readACL(ctx, l.s, l.rd, aclURL)
}

// readACL reads and parses the ACL (or group) document at aclURL, through
// rd when it is not nil, else in a read of its own.
func readACL(ctx context.Context, s *Server, rd store.Reader, aclURL string) ([]rdf.Quad, bool, error) {
	pod, rel, ok := s.PodOfURL(aclURL)
	if !ok {
		return nil, false, nil
	}
	var res *ldp.Resource
	var err error
	if rd != nil {
		res, err = ldp.Get(rd, ldp.StoragePath(pod, rel))
	} else {
		res, err = s.repo.Get(ctx, ldp.StoragePath(pod, rel))
	}
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
		s.log.Warn("unreadable ACL or group document", "url", aclURL, "err", err)
		return nil, true, nil
	}
	return q, true, nil
}

// validateWrite checks documents whose content the server relies on.
func (s *Server) validateWrite(ctx context.Context, r *ldp.Request, p, mt string, body []byte) error {
	_, rel := ldp.SplitStoragePath(p)
	if rel == "settings/subscriptions" {
		if mt != ldp.MediaJSONLD && mt != ldp.MediaJSON {
			return apierr.Newf(http.StatusUnsupportedMediaType, msgSettingsJSON, mt)
		}
		if _, err := acl.ParseSubscriptions(body); err != nil {
			return apierr.Wrap(http.StatusBadRequest, err.Error(), err)
		}
	}
	return nil
}

// redact withholds the webhook secrets of a pod's settings/subscriptions
// from everyone but the pod's owner: an agent the ACL lets read the
// document sees the subscriptions without their "secret" members, and a
// secret never leaves the server through a read by anyone else.
func (s *Server) redact(r *ldp.Request, res *ldp.Resource) ([]byte, bool) {
	if _, rel := ldp.SplitStoragePath(res.Path); rel == profilePath && res.Meta.ContentType == ldp.MediaJSONLD {
		// Every profile names this server's issuer (solid:oidcIssuer).
		if out, ok := withIssuer(res.Body, s.Issuer()); ok {
			return out, true
		}
		return nil, false
	}
	pr := r.Principal
	if pr.Owner && pr.Pod == r.Target.Pod {
		return nil, false
	}
	if _, rel := ldp.SplitStoragePath(res.Path); rel != "settings/subscriptions" || !bytes.Contains(res.Body, []byte(`"secret"`)) {
		return nil, false
	}
	out, err := withoutSecrets(res.Body)
	if err != nil {
		// Stored documents were validated on write; if one cannot be read
		// now, serve nothing of it rather than its secrets.
		s.log.Error("settings/subscriptions unreadable while withholding its secrets", "path", res.Path, "err", err)
		return []byte("{}"), true
	}
	return out, true
}

// withoutSecrets returns the settings/subscriptions document doc without
// the "secret" member of its items.
func withoutSecrets(doc []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	items, _ := v["items"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			delete(m, "secret")
		}
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return out, nil
}
