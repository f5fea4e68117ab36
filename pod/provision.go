package pod

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"podserver/ldp"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
	"podserver/webid"
)

// ErrPodExists is returned by CreatePod for a pod that exists.
var ErrPodExists = errors.New("pod already exists")

// ErrInvalidPodName is returned for a name that cannot name a pod.
var ErrInvalidPodName = errors.New("invalid pod name: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit (not a reserved name)")

// CreateAppKey creates an app key named app for pod and returns its
// secret, shown once and stored only as a hash. With CreatePod and PodRoot
// it makes a Server a bench.Provisioner.
func (s *Server) CreateAppKey(ctx context.Context, pod, app string) (string, error) {
	secret, _, err := s.keys.Create(ctx, pod, app, false)
	return secret, err
}

// CreatePod provisions pod name with a new owner key and returns the key's
// secret, which is shown once and stored only as a hash.
func (s *Server) CreatePod(ctx context.Context, name string) (string, error) {
	if !podurl.ValidName(name) {
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
	if !podurl.ValidName(name) {
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

// podExists reports whether pod name exists. Pods are never deleted, so a
// positive answer is remembered.
func (s *Server) podExists(ctx context.Context, name string) (bool, error) {
	if _, ok := s.pods.Load(name); ok {
		return true, nil
	}
	var ok bool
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		ok, err = ldp.PodExists(rd, name)
		return err
	})
	if ok {
		s.pods.Store(name, struct{}{})
	}
	return ok, err
}

// ListPods returns the pods of this server.
func (s *Server) ListPods(ctx context.Context) ([]ldp.PodInfo, error) {
	return ldp.ListPods(ctx, s.st)
}

// provision writes a new pod's resources in one transaction: its pod
// record, signing key and podDocs.
func (s *Server) provision(ctx context.Context, name string) error {
	pub, seed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("signing key of %s: %w", name, err)
	}
	docs, err := podDocs(name, pub)
	if err != nil {
		return err
	}
	now := s.repo.Now()
	err = s.st.Update(ctx, func(tx store.Txn) error {
		if err := ldp.CreatePod(tx, name, now); err != nil {
			return err
		}
		if err := tx.Set(podSecretKey(name), seed.Seed()); err != nil {
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
	return nil
}

// podDoc is a resource every new pod has, relative to the pod's root.
type podDoc struct {
	rel, ct string
	body    []byte
}

// podDocs returns the resources of a new pod whose signing key is pub: the
// WebID profile, inbox/, publish/, outbox/, settings/ with empty
// subscriptions, and the ACLs (owner control everywhere, public read of the
// profile, authenticated append to the inbox).
func podDocs(name string, pub ed25519.PublicKey) ([]podDoc, error) {
	profile, err := profileDoc(name, pub)
	if err != nil {
		return nil, err
	}
	return []podDoc{
		{"profile/card", ldp.MediaJSONLD, profile},
		{"inbox/", "", nil},
		{"publish/", "", nil},
		{"outbox/", "", nil},
		{"settings/subscriptions", ldp.MediaJSONLD, []byte(`{"@context": "` + rdf.ContextURI + `", "version": "1", "items": []}` + "\n")},
		// ACL IRIs are relative to each ACL document, like the profile's.
		{".acl", ldp.MediaJSONLD, aclDoc(
			aclRule{id: "#owner", agent: "profile/card#me", accessTo: "./", def: "./", modes: ownerModes})},
		{"profile/card.acl", ldp.MediaJSONLD, aclDoc(
			aclRule{id: "#owner", agent: "card#me", accessTo: "card", modes: ownerModes},
			aclRule{id: "#public", class: "foaf:Agent", accessTo: "card", modes: []string{"acl:Read"}})},
		{"inbox/.acl", ldp.MediaJSONLD, aclDoc(
			aclRule{id: "#owner", agent: "../profile/card#me", accessTo: "./", def: "./", modes: ownerModes},
			aclRule{id: "#authenticated-append", class: "acl:AuthenticatedAgent", accessTo: "./", modes: []string{"acl:Append"}})},
	}, nil
}

var ownerModes = []string{"acl:Read", "acl:Write", "acl:Append", "acl:Control"}

// aclRule is one acl:Authorization of a provisioned ACL document; its IRIs
// are relative to the document.
type aclRule struct {
	id, agent, class, accessTo, def string
	modes                           []string
}

// aclDoc returns a JSON-LD ACL document holding rules.
func aclDoc(rules ...aclRule) []byte {
	ref := func(iri string) map[string]string { return map[string]string{"id": iri} }
	var graph []any
	for _, r := range rules {
		a := map[string]any{"id": r.id, "type": "acl:Authorization", "acl:accessTo": ref(r.accessTo)}
		if r.agent != "" {
			a["acl:agent"] = ref(r.agent)
		}
		if r.class != "" {
			a["acl:agentClass"] = ref(r.class)
		}
		if r.def != "" {
			a["acl:default"] = ref(r.def)
		}
		var modes []any
		for _, m := range r.modes {
			modes = append(modes, ref(m))
		}
		a["acl:mode"] = modes
		graph = append(graph, a)
	}
	b, err := json.MarshalIndent(map[string]any{"@context": rdf.ContextURI, "@graph": graph}, "", "  ")
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return append(b, '\n')
}

// profileDoc is the WebID profile document of a new pod. Its IRIs are
// relative to the document's own URL, so the stored profile stays right
// whatever base URL or pod naming mode the server runs with. It publishes
// the pod's signing key as <#key>, a Multikey linked from <#me> by
// sec:assertionMethod, with which receivers verify the pod's signed
// deliveries.
func profileDoc(name string, pub ed25519.PublicKey) ([]byte, error) {
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
				"id":                     "#me",
				"type":                   []string{"foaf:Agent", "schema:Person"},
				"foaf:name":              name,
				"inbox":                  "../inbox/",
				"storage":                "../",
				webid.SecAssertionMethod: map[string]string{"id": "#key"},
			},
			webid.KeyNode("#key", "#me", pub),
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

func podSecretKey(name string) []byte { return append([]byte(store.PrefixPodSecret), name...) }

// SigningKey returns pod name's Ed25519 signing key and its key id (the
// URL of <#key> in the pod's profile).
func (s *Server) SigningKey(ctx context.Context, name string) (ed25519.PrivateKey, string, error) {
	keyID := s.PodRoot(name) + "profile/card#key"
	if k, ok := s.signing.Load(name); ok {
		return k.(ed25519.PrivateKey), keyID, nil
	}
	var seed []byte
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		seed, err = rd.Get(podSecretKey(name))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("signing key of %s: %w", name, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, "", fmt.Errorf("signing key of %s: stored seed has %d bytes", name, len(seed))
	}
	k := ed25519.NewKeyFromSeed(seed)
	s.signing.Store(name, k)
	return k, keyID, nil
}
