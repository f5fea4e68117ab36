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

// seqNameLen is the length of a sequence name: 16 hex digits.
const seqNameLen = 16

// SeqName returns the name AppendSeqMember gives the member with sequence
// number seq: seq in 16 lower-case hex digits, so that names sort in
// sequence order.
func SeqName(seq uint64) string {
	const hexDigits = "0123456789abcdef"
	var b [seqNameLen]byte
	for i := seqNameLen - 1; i >= 0; i-- {
		b[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
	return string(b[:])
}

// ParseSeqName returns the sequence number a SeqName encodes.
func ParseSeqName(name string) (uint64, bool) {
	if len(name) != seqNameLen {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// AppendSeqMember stores a new non-container member of container c named
// SeqName(seq), as AppendMember does, but without a membership key: the
// members of a sequence-named container (one whose members are all
// created this way, such as an inbox; see Config.SeqNamed) sort in creation
// order by name, so ListSeqNamed lists them from their records, and a
// publish writes one key less per copy. seq must come from tx.NextSeq() in
// this transaction. The member's Meta.Member is 0: it has no membership key
// to delete.
func AppendSeqMember(tx store.Txn, c string, seq uint64, contentType string, body []byte, now time.Time) (string, Meta, error) {
	p := c + SeqName(seq)
	m := Meta{ContentType: contentType, Version: seq, Created: now, Modified: now, Size: int64(len(body))}
	return p, m, tx.Set(resourceKey(p), encodeRecord(m, body))
}

// ListSeqNamed is List for a sequence-named container: up to limit
// members from sequence number from (0 = the beginning), found by a scan of
// the records under c; members whose names are not sequence names (none in
// a sequence-named container) are skipped.
func ListSeqNamed(rd store.Reader, c string, from uint64, limit int) ([]Member, uint64, error) {
	start := ""
	if from > 0 {
		start = SeqName(from)
	}
	var out []Member
	var next uint64
	err := ScanChildrenMeta(rd, c, start, func(p string, _ Meta) error {
		seq, ok := ParseSeqName(p[len(c):])
		if !ok {
			return nil
		}
		if len(out) == limit {
			next = seq
			return store.ErrStop
		}
		out = append(out, Member{Path: p, Seq: seq})
		return nil
	})
	return out, next, err
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
// metadata and body (valid only during the call; a shared body is
// resolved). Nested resources and auxiliary resources (ACLs) are skipped.
// fn returns store.ErrStop to end the scan early.
//
// For a container whose member names sort in creation order (names derived
// from a fixed-width sequence number), this lists the members with their
// bodies in one ordered scan instead of a listing scan plus a point read per
// member (plus one per shared body).
func ScanChildren(rd store.Reader, c, startName string, fn func(p string, m Meta, body []byte) error) error {
	return scanChildren(rd, c, startName, nil, func(p string, m Meta, body, ref []byte) error {
		if ref != nil {
			var err error
			if body, err = resolveBody(rd, ref); err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
		}
		return fn(p, m, body)
	})
}

// ScanChildrenMeta is ScanChildren for the children's metadata only: it
// reads no shared body.
func ScanChildrenMeta(rd store.Reader, c, startName string, fn func(p string, m Meta) error) error {
	return scanChildren(rd, c, startName, nil, func(p string, m Meta, _, _ []byte) error { return fn(p, m) })
}

// scanChildren is ScanChildren giving each record's inline body or its
// shared body reference, unresolved. onACL, if not nil, is called with the
// path of each ACL document directly in c the scan passes (p.acl of a
// child p, and c's own .acl), in key order among fn's calls, and may
// return store.ErrStop too.
func scanChildren(rd store.Reader, c, startName string, onACL func(p string) error, fn func(p string, m Meta, body, ref []byte) error) error {
	prefix := resourceKey(c)
	var start []byte
	if startName != "" {
		start = append(resourceKey(c), startName...)
	}
	return rd.Scan(prefix, start, false, func(k, v []byte) error {
		name := k[len(prefix):]
		if len(name) == 0 {
			return nil
		}
		if bytes.IndexByte(name, '/') >= 0 {
			return nil
		}
		if bytes.HasSuffix(name, []byte(".acl")) {
			if onACL != nil {
				return onACL(string(k[len(store.PrefixResource):]))
			}
			return nil
		}
		m, body, ref, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("read %s%s: %w", c, name, err)
		}
		return fn(string(k[len(store.PrefixResource):]), m, body, ref)
	})
}
