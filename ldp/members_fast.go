package ldp

import (
	"bytes"
	"fmt"
	"time"

	"podserver/store"
)

// Fast paths for containers whose members the server itself names (inbox
// items, published events). They write and read the same records as Put,
// Create and List, so every generic operation (GET, DELETE, listing, ETags)
// keeps working on what they write; they only skip the checks their callers
// have already made, which matters inside the store's single writer.

// AppendMember stores a new non-container member name of container c with
// the given media type and body, as Create would, and returns its path and
// metadata. seq must come from tx.NextSeq() in this transaction: it is the
// member's version and its position in the container's listing.
//
// The caller guarantees what Create checks: c exists and is a container,
// and name is a single free path segment (no resource or container of that
// name exists). Server-chosen names such as a sequence number or a fresh
// UUID are free by construction.
func AppendMember(tx store.Txn, c, name string, seq uint64, contentType string, body []byte, now time.Time) (string, Meta, error) {
	p := c + name
	m := Meta{ContentType: contentType, Version: seq, Created: now, Modified: now, Member: seq, Size: int64(len(body))}
	if err := tx.Set(memberKey(c, seq), []byte(p)); err != nil {
		return "", m, err
	}
	return p, m, tx.Set(resourceKey(p), encodeRecord(m, body))
}

// EnsureContainer creates container c (and missing ancestors up to the pod
// root) when it does not exist, as PUT would.
func EnsureContainer(tx store.Txn, c string, now time.Time) error {
	if !IsContainer(c) {
		return fmt.Errorf("%q is not a container path", c)
	}
	return ensureContainers(tx, c, now)
}

// ScanChildren calls fn for the stored direct children of container c whose
// names are >= startName, in ascending name order, with each child's
// metadata and body (valid only during the call). Nested resources and
// auxiliary resources (ACLs) are skipped. fn returns store.ErrStop to end
// the scan early.
//
// For a container whose member names sort in creation order (names derived
// from a fixed-width sequence number), this lists the members with their
// bodies in one ordered scan instead of a listing scan plus a point read per
// member.
func ScanChildren(rd store.Reader, c, startName string, fn func(p string, m Meta, body []byte) error) error {
	prefix := resourceKey(c)
	var start []byte
	if startName != "" {
		start = append(resourceKey(c), startName...)
	}
	return rd.Scan(prefix, start, false, func(k, v []byte) error {
		name := k[len(prefix):]
		if len(name) == 0 || bytes.IndexByte(name, '/') >= 0 || bytes.HasSuffix(name, []byte(".acl")) {
			return nil
		}
		m, body, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("read %s%s: %w", c, name, err)
		}
		return fn(string(k[len(store.PrefixResource):]), m, body)
	})
}
