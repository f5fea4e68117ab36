package pod

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"podserver/httpsig"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
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
	if _, ok, err := s.podRecord(ctx, name); err != nil {
		return "", err
	} else if ok {
		return "", fmt.Errorf("%w: %s (it may be being deleted)", ErrPodExists, name)
	}
	// The key is made first: a key without a pod grants nothing, while a pod
	// without a key could not be administered. Creations are serialized on
	// this node, and a creation that lost a race (the pod exists after
	// all) revokes its key: it must not own another's pod.
	s.pods.create.Lock()
	defer s.pods.create.Unlock()
	secret, key, err := s.keys.Create(ctx, name, "owner", true)
	if err != nil {
		return "", fmt.Errorf("create owner key: %w", err)
	}
	if err := s.provision(ctx, name); err != nil {
		if rerr := s.keys.ForceRevoke(context.WithoutCancel(ctx), name, key.ID); rerr != nil {
			err = errors.Join(err, fmt.Errorf("revoke the owner key of the pod not created: %w", rerr))
		}
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

// podExists reports whether pod name exists (in any state but
// ldp.PodDeleting).
func (s *Server) podExists(ctx context.Context, name string) (bool, error) {
	p, ok, err := s.podRecord(ctx, name)
	return ok && p.State != ldp.PodDeleting, err
}

// podRecord returns pod name's record, and false when it has none. Active
// pods are answered from s.pods, which the change feed keeps (forgetPods).
func (s *Server) podRecord(ctx context.Context, name string) (ldp.PodInfo, bool, error) {
	if s.pods.active(name) {
		return ldp.PodInfo{Name: name, State: ldp.PodActive}, true, nil
	}
	gen := s.pods.generation()
	var p ldp.PodInfo
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		p, err = ldp.GetPod(rd, name)
		return err
	})
	if errors.Is(err, ldp.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if p.State == ldp.PodActive {
		s.pods.remember(name, gen)
	}
	return p, true, nil
}

// podCache is the set of pods known to be active. The change feed forgets
// a pod whenever its record is written (forgetPods), by this node or
// another; a record read before such a write is not remembered after it
// (the generation changed meanwhile).
type podCache struct {
	m sync.Map // pod name -> struct{}
	// create serializes CreatePod on this node.
	create sync.Mutex
	mu     sync.Mutex
	gen    uint64 // guarded by mu
}

func (c *podCache) active(name string) bool { _, ok := c.m.Load(name); return ok }

func (c *podCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// remember records name as active, as read at generation gen, unless a pod
// record was written since.
func (c *podCache) remember(name string, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.m.Store(name, struct{}{})
	}
}

// forget drops name (every pod for "") and moves to a new generation.
func (c *podCache) forget(name string, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if all {
		c.m.Clear()
	} else {
		c.m.Delete(name)
	}
}

// forgetPods follows the change feed (store.PrefixPod among its prefixes):
// a pod whose record changed, by this node or another, is read again, and
// so is its signing key (a name deleted and created again has a new one).
func (s *Server) forgetPods(ch []store.Change) {
	for _, c := range ch {
		if name, ok := ldp.PodName(c.Key); ok {
			s.pods.forget(name, false)
			s.signing.Delete(name)
		}
	}
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
	b, err := marshalDoc(map[string]any{"@context": rdf.ContextURI, "@graph": graph})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// marshalDoc writes a provisioned JSON-LD document as rdf.WriteJSONLD
// writes one: indented by two spaces, each object's @context, id and type
// first, the other keys sorted.
func marshalDoc(doc map[string]any) ([]byte, error) {
	var compact bytes.Buffer
	if err := writeOrdered(&compact, doc); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// writeOrdered writes v as compact JSON, the keys of its objects in
// marshalDoc's order.
func writeOrdered(buf *bytes.Buffer, v any) error {
	var keys []string
	var get func(string) any
	switch m := v.(type) {
	case map[string]any:
		keys, get = slices.Sorted(maps.Keys(m)), func(k string) any { return m[k] }
	case map[string]string:
		keys, get = slices.Sorted(maps.Keys(m)), func(k string) any { return m[k] }
	case []any:
		buf.WriteByte('[')
		for i, e := range m {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeOrdered(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	default:
		b, err := json.Marshal(v)
		buf.Write(b)
		return err
	}
	rank := func(k string) int {
		if i := slices.Index([]string{"@context", "id", "type"}, k); i >= 0 {
			return i
		}
		return 3
	}
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		if err := writeOrdered(buf, get(k)); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// profileDoc is the WebID profile document of a new pod. Its IRIs are
// relative to the document's own URL, so the stored profile stays right
// whatever base URL or pod naming mode the server runs with. It publishes
// the pod's signing key as <#key>, a Multikey linked from <#me> by
// sec:assertionMethod, with which receivers verify the pod's signed
// deliveries (the node webid.KeyNode builds, written with sec: names).
//
// It is written in the style of rdf.WriteJSONLD: the context's aliases id
// and type, never @id and @type, and every IRI of a vocabulary the context
// knows by its term or prefix (schema.org's, the context's @vocab, by the
// bare name), never in full.
func profileDoc(name string, pub ed25519.PublicKey) ([]byte, error) {
	ref := func(iri string) map[string]string { return map[string]string{"id": iri} }
	d := map[string]any{
		"@context": rdf.ContextURI,
		"@graph": []any{
			map[string]any{
				"id":                "",
				"type":              "foaf:PersonalProfileDocument",
				"foaf:maker":        ref("#me"),
				"foaf:primaryTopic": ref("#me"),
			},
			map[string]any{
				"id":                  "#me",
				"type":                []string{"foaf:Agent", "Person"},
				"foaf:name":           name,
				"inbox":               "../inbox/",
				"storage":             "../",
				"sec:assertionMethod": ref("#key"),
			},
			map[string]any{
				"id":                     "#key",
				"type":                   "sec:Multikey",
				"sec:controller":         ref("#me"),
				"sec:publicKeyMultibase": httpsig.PublicKeyMultibase(pub),
			},
		},
	}
	b, err := marshalDoc(d)
	if err != nil {
		return nil, fmt.Errorf("profile of %s: %w", name, err)
	}
	return b, nil
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

// ErrNoPod is returned by the operator's pod operations for a pod that does
// not exist (or is being deleted, for all but DeletePod).
var ErrNoPod = errors.New("no such pod")

// ErrPodDeleting is returned when disabling or enabling a pod being deleted.
var ErrPodDeleting = errors.New("pod is being deleted")

// Pod returns pod name's record in any state, or ErrNoPod.
func (s *Server) Pod(ctx context.Context, name string) (ldp.PodInfo, error) {
	var p ldp.PodInfo
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		p, err = ldp.GetPod(rd, name)
		return err
	})
	if errors.Is(err, ldp.ErrNotFound) {
		return p, fmt.Errorf("%w: %s", ErrNoPod, name)
	}
	return p, err
}

// DisablePod disables pod name (disabled true) or enables it again: a
// disabled pod refuses every request with 403 and keeps its data. Every
// node refuses the pod's next request (the change feed, see forgetPods).
func (s *Server) DisablePod(ctx context.Context, name string, disabled bool) (ldp.PodInfo, error) {
	state := ldp.PodActive
	if disabled {
		state = ldp.PodDisabled
	}
	var p ldp.PodInfo
	err := s.st.Update(ctx, func(tx store.Txn) error {
		var err error
		p, err = ldp.SetPodState(tx, name, state)
		return err
	})
	switch {
	case errors.Is(err, ldp.ErrNotFound):
		return p, fmt.Errorf("%w: %s", ErrNoPod, name)
	case errors.Is(err, ldp.ErrConflict):
		return p, fmt.Errorf("%w: %s", ErrPodDeleting, name)
	case err != nil:
		return p, fmt.Errorf("set the state of pod %s: %w", name, err)
	}
	return p, nil
}

// DeletePod deletes pod name and all its data. One transaction marks it
// ldp.PodDeleting and removes its root, inbox and settings: from then on
// every request to it gets 404 as for a missing pod, on every node, and
// neither publishing nor delivery can add to it (local deliveries to it
// fail: its inbox is gone). Then its data is removed in bounded batches
// (purgePod), its record last; the name may then be used again.
//
// DeletePod returns nil once the data is gone, or ctx's error when ctx
// ends first: the purge goes on in the background, and a purge that a
// stopped server left unfinished resumes at its next start. Deleting a pod
// being deleted waits for that purge.
func (s *Server) DeletePod(ctx context.Context, name string) error {
	err := s.st.Update(ctx, func(tx store.Txn) error {
		if _, err := ldp.SetPodState(tx, name, ldp.PodDeleting); err != nil {
			return err
		}
		for _, rel := range []string{"", "inbox/", settingsDir + "subscriptions"} {
			if err := tx.Delete(append([]byte(store.PrefixResource), ldp.StoragePath(name, rel)...)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ldp.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoPod, name)
	}
	if err != nil {
		return fmt.Errorf("mark pod %s deleted: %w", name, err)
	}
	s.log.Info("pod deleted: removing its data", "pod", name)
	done := s.adm.purges.start(s, name)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// purgeBatch bounds the keys one purge transaction deletes.
const purgeBatch = 512

// purges runs the purges of deleted pods in the background, one per pod,
// until the server shuts down.
type purges struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	// running maps a pod to the waiters of its purge.
	running map[string][]chan error
}

func newPurges() *purges {
	ctx, cancel := context.WithCancel(context.Background())
	return &purges{ctx: ctx, cancel: cancel, running: map[string][]chan error{}}
}

// start purges pod name unless a purge of it runs already, and returns a
// channel that receives the purge's outcome.
func (p *purges) start(s *Server, name string) <-chan error {
	done := make(chan error, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		done <- p.ctx.Err()
		return done
	}
	waiters, ok := p.running[name]
	p.running[name] = append(waiters, done)
	if ok {
		return done
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := s.purgePod(p.ctx, name)
		if err != nil {
			s.log.Error("pod purge stopped: it resumes at the next start", "pod", name, "err", err)
		} else {
			s.log.Info("pod data removed", "pod", name)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, w := range p.running[name] {
			w <- err
		}
		delete(p.running, name)
	}()
	return done
}

// resume starts the purge of every pod left being deleted.
func (p *purges) resume(s *Server) error {
	pods, err := ldp.ListPods(p.ctx, s.st)
	if err != nil {
		return fmt.Errorf("list pods being deleted: %w", err)
	}
	for _, pi := range pods {
		if pi.State == ldp.PodDeleting {
			s.log.Info("resuming the removal of a deleted pod's data", "pod", pi.Name)
			p.start(s, pi.Name)
		}
	}
	return nil
}

// close stops the purges (they resume at the next start) and waits for them.
func (p *purges) close() {
	p.cancel()
	p.wg.Wait()
}

// purgeRange is a key range holding a pod's data; pick, when set, selects
// the keys of the range that are the pod's (from their values), and may add
// others to delete with them. Without pick the whole range is the pod's.
type purgeRange struct {
	prefix []byte
	pick   func(k, v []byte) [][]byte
}

// purgeRanges lists, for pod name, every key of the keyspace
// (store/keyspace.go) holding its data, except its API keys (acl's
// RevokeAll), its signing key and its record, which purgePod removes
// itself. Deliveries other pods own that target the pod are theirs: they
// stay in their outboxes and fail (the pod is gone).
func (s *Server) purgeRanges(name string) []purgeRange {
	path := ldp.StoragePath(name, "") // "/name/"
	scoped := func(prefix string, rest ...string) purgeRange {
		k := []byte(prefix)
		for _, r := range rest {
			k = append(k, r...)
		}
		return purgeRange{prefix: k}
	}
	byPod := name + "\x00"
	return []purgeRange{
		scoped(store.PrefixResource, path),
		scoped(store.PrefixMember, path),
		scoped(store.PrefixInboxDedup, path),
		scoped(store.PrefixEventID, byPod),
		scoped(store.PrefixFanout, path),
		scoped(store.PrefixOutbox, byPod),
		scoped(store.PrefixDeliveryIndex, "E", path),
		scoped(store.PrefixDeliveryIndex, "D", byPod),
		// The identity provider's: the pod's password, client-credentials
		// clients and their index, consents and cuts (package idp).
		{prefix: []byte(store.PrefixIDP + "w" + name), pick: func(k, _ []byte) [][]byte {
			if string(k) == store.PrefixIDP+"w"+name {
				return [][]byte{k}
			}
			return nil
		}},
		scoped(store.PrefixIDP, "c", byPod),
		scoped(store.PrefixIDP, "g", byPod),
		scoped(store.PrefixIDP, "v", byPod),
		{prefix: []byte(store.PrefixIDP + "i"), pick: func(k, v []byte) [][]byte {
			if string(v) == name {
				return [][]byte{k}
			}
			return nil
		}},
		// The delivery queue: the pod's pending deliveries.
		{prefix: []byte(store.PrefixDelivery), pick: func(k, v []byte) [][]byte {
			var r struct {
				Pod string `json:"pod"`
			}
			if json.Unmarshal(v, &r) == nil && r.Pod == name {
				return [][]byte{k}
			}
			return nil
		}},
		// Notification channels on the pod's resources, and their index
		// of pending pushes.
		{prefix: []byte(store.PrefixChannel + "c"), pick: func(k, v []byte) [][]byte {
			var r struct {
				ID  string `json:"id"`
				Pod string `json:"pod"`
			}
			if json.Unmarshal(v, &r) != nil || r.Pod != name {
				return nil
			}
			return [][]byte{k, []byte(store.PrefixDeliveryIndex + "C" + r.ID + "\x00")}
		}},
		// Which inboxes hold a copy of each of the pod's events.
		{prefix: []byte(store.PrefixEventCopies), pick: func(k, _ []byte) [][]byte {
			if pod, _, ok := s.PodOfURL(string(k[len(store.PrefixEventCopies):])); ok && pod == name {
				return [][]byte{k}
			}
			return nil
		}},
	}
}

// purgePod removes every key of pod name, which is marked
// ldp.PodDeleting, in transactions of at most purgeBatch deletes: its API
// keys, then every range of purgeRanges, twice (a request that passed its
// checks before the pod was marked may still have written), then its
// signing key and its record.
func (s *Server) purgePod(ctx context.Context, name string) error {
	if err := s.keys.RevokeAll(ctx, name); err != nil {
		return fmt.Errorf("revoke the keys of pod %s: %w", name, err)
	}
	for range 2 {
		for _, r := range s.purgeRanges(name) {
			if err := s.purgeRange(ctx, r); err != nil {
				return fmt.Errorf("remove the data of pod %s: %w", name, err)
			}
		}
	}
	err := s.st.Update(ctx, func(tx store.Txn) error {
		p, err := ldp.GetPod(tx, name)
		if errors.Is(err, ldp.ErrNotFound) {
			return nil // another node finished first
		}
		if err != nil {
			return err
		}
		if p.State != ldp.PodDeleting {
			return fmt.Errorf("pod %s is %s, not being deleted", name, p.State)
		}
		if err := tx.Delete(podSecretKey(name)); err != nil {
			return err
		}
		return ldp.DeletePodRecord(tx, name)
	})
	if err != nil {
		return fmt.Errorf("remove the record of pod %s: %w", name, err)
	}
	// Notification channels are followed by the change feed on a shared
	// store only; the delivery queue recounts its records when poked.
	if err := s.nt.n.Resync(ctx); err != nil {
		s.log.Warn("cannot re-read notification channels", "err", err)
	}
	s.ev.queue.Poke()
	return nil
}

// purgeRange deletes the keys r selects: it reads up to purgeBatch of them
// from a snapshot, deletes them in one transaction, and goes on from the
// last key read until the range is exhausted. A whole range (no pick) is
// read from its start each time, which its deletes empty.
func (s *Server) purgeRange(ctx context.Context, r purgeRange) error {
	var start []byte
	for {
		var del [][]byte
		var next []byte
		const scanLimit = 8 * purgeBatch // entries read per snapshot
		err := s.st.View(ctx, func(rd store.Reader) error {
			n := 0
			return rd.Scan(r.prefix, start, false, func(k, v []byte) error {
				n++
				if r.pick == nil {
					del = append(del, slices.Clone(k))
				} else {
					for _, d := range r.pick(k, v) {
						del = append(del, slices.Clone(d))
					}
				}
				if len(del) >= purgeBatch || n >= scanLimit {
					next = append(slices.Clone(k), 0)
					return store.ErrStop
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		if len(del) > 0 {
			err := s.st.Update(ctx, func(tx store.Txn) error {
				for _, k := range del {
					if len(k) > 0 && k[len(k)-1] == 0 && bytes.HasPrefix(k, []byte(store.PrefixDeliveryIndex+"C")) {
						// A channel's whole index range.
						if err := deletePrefix(tx, k); err != nil {
							return err
						}
						continue
					}
					if err := ldp.PurgeKey(tx, k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		if r.pick != nil {
			start = next
		}
	}
}

// deletePrefix deletes every key under prefix in tx (a notification
// channel's index of pending pushes: bounded by notify's per-channel
// limit).
func deletePrefix(tx store.Txn, prefix []byte) error {
	var keys [][]byte
	if err := tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		keys = append(keys, slices.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
