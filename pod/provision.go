package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"podserver/acl"
	"podserver/ldp"
	"podserver/rdf"
	"podserver/store"
)

// ErrPodExists is returned by CreatePod for a pod that exists.
var ErrPodExists = errors.New("pod already exists")

// ErrInvalidPodName is returned for a name that cannot name a pod.
var ErrInvalidPodName = errors.New("invalid pod name: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit (not a reserved name)")

// CreatePod provisions pod name with a new owner key and returns the key's
// secret, which is shown once and stored only as a hash.
func (s *Server) CreatePod(ctx context.Context, name string) (string, error) {
	if !ValidPodName(name) {
		return "", ErrInvalidPodName
	}
	if ok, err := s.podExists(ctx, name); err != nil {
		return "", err
	} else if ok {
		return "", fmt.Errorf("%w: %s", ErrPodExists, name)
	}
	// The key is made first: a key without a pod grants nothing, while a pod
	// without a key could not be administered.
	secret, _, err := s.keys.Create(ctx, name, "owner", true)
	if err != nil {
		return "", fmt.Errorf("create owner key: %w", err)
	}
	if err := s.provision(ctx, name); err != nil {
		return "", err
	}
	return secret, nil
}

// ProvisionPod creates pod name if it does not exist and imports the given
// owner key secret (used for demo fixtures, whose keys are known).
func (s *Server) ProvisionPod(ctx context.Context, name, ownerSecret string) error {
	if !ValidPodName(name) {
		return ErrInvalidPodName
	}
	if ownerSecret != "" {
		if _, err := s.keys.Import(ctx, name, "owner", true, ownerSecret); err != nil {
			return fmt.Errorf("import owner key of %s: %w", name, err)
		}
	}
	ok, err := s.podExists(ctx, name)
	if err != nil || ok {
		return err
	}
	return s.provision(ctx, name)
}

func (s *Server) podExists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		ok, err = ldp.PodExists(rd, name)
		return err
	})
	return ok, err
}

// ListPods returns the pods of this server.
func (s *Server) ListPods(ctx context.Context) ([]ldp.PodInfo, error) {
	return ldp.ListPods(ctx, s.st)
}

// provision writes a new pod's resources in one transaction: the root, the
// WebID profile, inbox/, publish/, outbox/, settings/ with empty
// subscriptions, and the ACLs (owner control everywhere, public read of the
// profile, authenticated append to the inbox).
func (s *Server) provision(ctx context.Context, name string) error {
	root := s.PodRoot(name)
	webID := root + "profile/card#me"
	type doc struct {
		rel, ct string
		body    []byte
	}
	profile, err := profileDoc(name)
	if err != nil {
		return err
	}
	owner := acl.Authorization{ID: "#owner", Agents: []string{webID}, Modes: allModes}
	rootACL := owner
	rootACL.AccessTo, rootACL.Default = []string{root}, []string{root}
	profOwner := owner
	profOwner.AccessTo = []string{root + "profile/card"}
	inboxOwner := owner
	inboxOwner.AccessTo, inboxOwner.Default = []string{root + "inbox/"}, []string{root + "inbox/"}
	acls := []struct {
		rel   string
		auths []acl.Authorization
	}{
		{".acl", []acl.Authorization{rootACL}},
		{"profile/card.acl", []acl.Authorization{profOwner, {
			ID: "#public", AgentClasses: []string{"http://xmlns.com/foaf/0.1/Agent"},
			AccessTo: []string{root + "profile/card"}, Modes: acl.Read,
		}}},
		{"inbox/.acl", []acl.Authorization{inboxOwner, {
			ID: "#authenticated-append", AgentClasses: []string{"http://www.w3.org/ns/auth/acl#AuthenticatedAgent"},
			AccessTo: []string{root + "inbox/"}, Modes: acl.Append,
		}}},
	}
	docs := []doc{
		{"profile/card", ldp.MediaJSONLD, profile},
		{"inbox/", "", nil},
		{"publish/", "", nil},
		{"outbox/", "", nil},
		{"settings/subscriptions", ldp.MediaJSONLD, []byte(`{"@context": "` + rdf.ContextURI + `", "version": "1", "items": []}` + "\n")},
	}
	for _, a := range acls {
		base := root + a.rel
		var buf bytes.Buffer
		if err := rdf.WriteJSONLD(&buf, acl.BuildACL(withBase(a.auths, base)), base); err != nil {
			return fmt.Errorf("write ACL %s: %w", a.rel, err)
		}
		docs = append(docs, doc{a.rel, ldp.MediaJSONLD, buf.Bytes()})
	}
	now := s.repo.Now()
	err = s.st.Update(ctx, func(tx store.Txn) error {
		if err := ldp.CreatePod(tx, name, now); err != nil {
			return err
		}
		for _, d := range docs {
			if _, _, err := ldp.Put(tx, ldp.StoragePath(name, d.rel), d.ct, d.body, now, ldp.Preconditions{}); err != nil {
				return fmt.Errorf("provision %s: %w", d.rel, err)
			}
		}
		return nil
	})
	if errors.Is(err, ldp.ErrConflict) {
		return fmt.Errorf("%w: %s", ErrPodExists, name)
	}
	if err != nil {
		return fmt.Errorf("provision pod %s: %w", name, err)
	}
	s.eval.Invalidate()
	return nil
}

// withBase makes authorization ids absolute against the ACL document URL.
func withBase(auths []acl.Authorization, base string) []acl.Authorization {
	out := make([]acl.Authorization, len(auths))
	for i, a := range auths {
		if len(a.ID) > 0 && a.ID[0] == '#' {
			a.ID = base + a.ID
		}
		out[i] = a
	}
	return out
}

// profileDoc is the WebID profile document of a new pod. Its IRIs are
// relative to the document's own URL, so the stored profile stays right
// whatever base URL or pod naming mode the server runs with.
func profileDoc(name string) ([]byte, error) {
	d := map[string]any{
		"@context": rdf.ContextURI,
		"@graph": []any{
			map[string]any{
				"id":                "",
				"type":              "foaf:PersonalProfileDocument",
				"foaf:maker":        map[string]string{"id": "#me"},
				"foaf:primaryTopic": map[string]string{"id": "#me"},
			},
			map[string]any{
				"id":        "#me",
				"type":      []string{"foaf:Agent", "schema:Person"},
				"foaf:name": name,
				"inbox":     "../inbox/",
				"storage":   "../",
			},
		},
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("profile of %s: %w", name, err)
	}
	return append(b, '\n'), nil
}

// PodExists reports whether pod name exists.
func (s *Server) PodExists(ctx context.Context, name string) (bool, error) {
	return s.podExists(ctx, name)
}
