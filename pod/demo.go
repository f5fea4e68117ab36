package pod

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"podserver/acl"
	"podserver/fixtures"
	"podserver/ldp"
	"podserver/store"
)

// DemoKey is a key provisioned for the demo.
type DemoKey struct {
	Pod, App, Key string
}

// demoDeleteBatch is how many resources one transaction of a demo pod's
// reset deletes, well below the store's largest transaction.
const demoDeleteBatch = 500

// ProvisionDemo creates the demo pods of the fixtures that do not exist
// yet, with their keys and settings, and returns the demo keys in fixture
// order. Demo pods that exist keep what they hold; their fixture keys are
// imported again. Tests that restart a server over its data use it.
func (s *Server) ProvisionDemo(ctx context.Context) ([]DemoKey, error) {
	return s.demo(ctx, false)
}

// ResetDemo is what serve --demo runs on every start: it puts the demo
// pods of the fixtures in their documented state and returns the demo
// keys in fixture order. A demo pod that does not exist is created; one
// that exists is reset to what it was when created: every resource in it
// is deleted (notes, inbox items, published events, ACLs), the
// provisioned resources and ACLs are written again with its signing key
// unchanged, its settings/subscriptions are the fixtures', and its only
// keys are the fixtures' own. So each start begins the README's
// walk-through afresh. Other pods are left alone.
//
// The records other packages keep about the deleted resources (delivery
// records in the outbox, the inbox's per-event copy index, notification
// channels) are left alone: they name events and resources that no
// longer exist, which those packages already handle.
func (s *Server) ResetDemo(ctx context.Context) ([]DemoKey, error) {
	return s.demo(ctx, true)
}

// demo is ProvisionDemo, or ResetDemo with reset.
func (s *Server) demo(ctx context.Context, reset bool) ([]DemoKey, error) {
	d, err := fixtures.LoadDemo()
	if err != nil {
		return nil, err
	}
	var keys []DemoKey
	for _, p := range d.Pods {
		existed, err := s.podExists(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		if err := s.ProvisionPod(ctx, p.Name, p.OwnerKey); err != nil {
			return nil, err
		}
		// The demo pods log in at the identity provider with a public
		// password (DemoPassword), like their public keys.
		if err := s.idp.SetPassword(ctx, p.Name, DemoPassword); err != nil {
			return nil, fmt.Errorf("demo password of %s: %w", p.Name, err)
		}
		if existed && reset {
			if err := s.resetPodContent(ctx, p.Name); err != nil {
				return nil, fmt.Errorf("demo: reset %s: %w", p.Name, err)
			}
		}
		// Importing a key that exists returns it as it is.
		kept := map[string]bool{}
		owner, err := s.keys.Import(ctx, p.Name, "owner", true, p.OwnerKey)
		if err != nil {
			return nil, fmt.Errorf("demo key %s/owner: %w", p.Name, err)
		}
		kept[owner.ID] = true
		keys = append(keys, DemoKey{Pod: p.Name, App: "owner", Key: p.OwnerKey})
		for _, a := range p.AppKeys {
			k, err := s.keys.Import(ctx, p.Name, a.App, false, a.Key)
			if err != nil {
				return nil, fmt.Errorf("demo key %s/%s: %w", p.Name, a.App, err)
			}
			kept[k.ID] = true
			keys = append(keys, DemoKey{Pod: p.Name, App: a.App, Key: a.Key})
		}
		if existed && !reset {
			continue
		}
		if err := s.revokeOtherKeys(ctx, p.Name, kept); err != nil {
			return nil, fmt.Errorf("demo keys of %s: %w", p.Name, err)
		}
		if len(p.Subscriptions) == 0 {
			continue // the provisioned settings, with no items, are the fixture's
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, fixtures.Expand(p.Subscriptions, s.WebID), "", "  "); err != nil {
			return nil, fmt.Errorf("demo settings of %s: %w", p.Name, err)
		}
		doc := append(pretty.Bytes(), '\n')
		if _, err := acl.ParseSubscriptions(doc); err != nil {
			return nil, fmt.Errorf("demo settings of %s: %w", p.Name, err)
		}
		now := s.repo.Now()
		err = s.st.Update(ctx, func(tx store.Txn) error {
			_, _, err := ldp.Put(tx, ldp.StoragePath(p.Name, "settings/subscriptions"), ldp.MediaJSONLD, doc, now, ldp.Preconditions{})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("demo settings of %s: %w", p.Name, err)
		}
	}
	return keys, nil
}

// revokeOtherKeys revokes every key of pod whose id is not in kept.
func (s *Server) revokeOtherKeys(ctx context.Context, pod string, kept map[string]bool) error {
	all, err := s.keys.List(ctx, pod)
	if err != nil {
		return err
	}
	for _, k := range all {
		if kept[k.ID] {
			continue
		}
		if err := s.keys.Revoke(ctx, pod, k.ID); err != nil && !errors.Is(err, acl.ErrKeyNotFound) {
			return err
		}
	}
	return nil
}

// resetPodContent deletes every resource of pod name below its root, in
// batches, children before their container, and writes the resources and
// ACLs of a new pod again (podDocs) with the pod's signing key.
func (s *Server) resetPodContent(ctx context.Context, name string) error {
	var paths []string
	err := s.st.View(ctx, func(rd store.Reader) error {
		paths = paths[:0]
		return podTree(rd, ldp.StoragePath(name, ""), &paths)
	})
	if err != nil {
		return err
	}
	for len(paths) > 0 {
		batch := paths[:min(len(paths), demoDeleteBatch)]
		paths = paths[len(batch):]
		err := s.st.Update(ctx, func(tx store.Txn) error {
			for _, p := range batch {
				if err := ldp.Delete(tx, p, ldp.Preconditions{}); err != nil && !errors.Is(err, ldp.ErrNotFound) {
					return fmt.Errorf("delete %s: %w", p, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	key, _, err := s.SigningKey(ctx, name)
	if err != nil {
		return err
	}
	docs, err := podDocs(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	now := s.repo.Now()
	return s.st.Update(ctx, func(tx store.Txn) error {
		for _, d := range docs {
			if _, _, err := ldp.Put(tx, ldp.StoragePath(name, d.rel), d.ct, d.body, now, ldp.Preconditions{}); err != nil {
				return fmt.Errorf("%s: %w", d.rel, err)
			}
		}
		return nil
	})
}

// podTree appends to paths every resource below container c, each
// container after its members: the members listed by membership (which
// include containers) and those found by name (the members of
// sequence-named containers such as inbox/, which have no membership).
func podTree(rd store.Reader, c string, paths *[]string) error {
	seen := map[string]bool{}
	var members []string
	for from := uint64(0); ; {
		page, next, err := ldp.List(rd, c, from, 1000)
		if err != nil {
			return err
		}
		for _, m := range page {
			if !seen[m.Path] {
				seen[m.Path] = true
				members = append(members, m.Path)
			}
		}
		if next == 0 {
			break
		}
		from = next
	}
	err := ldp.ScanChildren(rd, c, "", func(p string, _ ldp.Meta, _ []byte) error {
		if !seen[p] {
			seen[p] = true
			members = append(members, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range members {
		if ldp.IsContainer(m) {
			if err := podTree(rd, m, paths); err != nil {
				return err
			}
		}
		*paths = append(*paths, m)
	}
	return nil
}
