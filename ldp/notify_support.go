package ldp

import (
	"bytes"
	"fmt"

	"podserver/store"
)

// ResourceChange interprets one write the store reported under
// store.PrefixResource (see store.Options.OnChange) as the change of a
// resource, for notifications. It returns the change, with Kind Created,
// Updated or Deleted, and, unless the resource was deleted, its new Meta.
//
// A record is a creation when it is the first version of its resource: a
// container member's membership seq is the version it was created with
// (Put, Create, AppendMember and intermediate containers all write
// Member == Version on creation and keep Member on update), and a resource
// without a membership entry (a pod root, an ACL document) is created with
// Created == Modified.
func ResourceChange(c store.Change) (Change, Meta, error) {
	if len(c.Key) <= len(store.PrefixResource) || string(c.Key[:len(store.PrefixResource)]) != store.PrefixResource {
		return Change{}, Meta{}, fmt.Errorf("ldp: %q is not a resource key", c.Key)
	}
	p := string(c.Key[len(store.PrefixResource):])
	if c.Deleted {
		return Change{Kind: Deleted, Path: p}, Meta{}, nil
	}
	m, _, _, err := decodeRecord(c.Value)
	if err != nil {
		return Change{}, Meta{}, fmt.Errorf("decode %s: %w", p, err)
	}
	kind := Updated
	if (m.Member != 0 && m.Member == m.Version) || (m.Member == 0 && m.Created.Equal(m.Modified)) {
		kind = Created
	}
	return Change{Kind: kind, Path: p, ETag: m.ETag()}, m, nil
}

// ACLChanged reports whether c, one write the store reported, wrote or
// deleted an access control document: the test of the store.Watch that
// ACL evaluation caches follow (acl.NewEvaluator). Deleting a resource
// deletes its ACL document in the same transaction, which is reported too.
func ACLChanged(c store.Change) bool {
	p, ok := bytes.CutPrefix(c.Key, []byte(store.PrefixResource))
	return ok && IsACL(string(p))
}
