package pod

import (
	"bytes"
	"context"
	"encoding/json"
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

// ProvisionDemo creates the demo pods from fixtures (those that do not exist
// yet), imports their keys and, for new pods, writes their subscription
// settings. It returns the demo keys in fixture order.
func (s *Server) ProvisionDemo(ctx context.Context) ([]DemoKey, error) {
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
		keys = append(keys, DemoKey{Pod: p.Name, App: "owner", Key: p.OwnerKey})
		for _, a := range p.AppKeys {
			if _, err := s.keys.Import(ctx, p.Name, a.App, false, a.Key); err != nil {
				return nil, fmt.Errorf("demo key %s/%s: %w", p.Name, a.App, err)
			}
			keys = append(keys, DemoKey{Pod: p.Name, App: a.App, Key: a.Key})
		}
		if existed || len(p.Subscriptions) == 0 {
			continue
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
