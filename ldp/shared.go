package ldp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"podserver/store"
)

// Shared bodies: a body that many records hold (the copies of one event in
// a thousand inboxes) is stored once, under a sequence number taken when
// it is first stored, so that bodies stored one after the other sit side
// by side in the keyspace, as the records referencing them do (an inbox
// page reads its bodies from neighbouring keys). An index by SHA-256 finds
// the body of equal bytes; a count of the records referencing it says when
// to delete it. See record.go for the keys.

// SharedBody is a body to store by reference: NewSharedBody hashes it once
// for every record appended with it.
type SharedBody struct {
	sum  [sha256.Size]byte
	body []byte
	// fresh: the bytes are stored nowhere yet (see NewFreshSharedBody).
	fresh bool
	// ref is the body's reference once stored or found, for the next
	// records of the same transaction.
	ref []byte
}

// NewSharedBody returns body ready to be referenced by records of one
// transaction: the first finds the stored body of the same bytes, if any,
// or stores it.
func NewSharedBody(body []byte) *SharedBody {
	return &SharedBody{sum: sha256.Sum256(body), body: body}
}

// NewFreshSharedBody is NewSharedBody for bytes the caller knows are new
// to the store (they hold an identifier made in this transaction): the
// first record stores them without looking for them first. Should they be
// stored already, they are stored again, which costs room, not
// correctness.
func NewFreshSharedBody(body []byte) *SharedBody {
	b := NewSharedBody(body)
	b.fresh = true
	return b
}

// Bytes returns the body.
func (b *SharedBody) Bytes() []byte { return b.body }

// The second byte of the shared body keys.
const (
	bodyData  = 'd' // + seq(8) -> body
	bodyCount = 'n' // + seq(8) -> references (8) + sha256(body)
	bodyIndex = 'h' // + sha256(body) -> seq(8)
)

func bodyKey(kind byte, id []byte) []byte {
	k := make([]byte, 0, len(store.PrefixBody)+1+len(id))
	k = append(k, store.PrefixBody...)
	k = append(k, kind)
	return append(k, id...)
}

// bodyRefs returns how many records reference the shared body ref, and
// the body's SHA-256.
func bodyRefs(rd store.Reader, ref []byte) (uint64, []byte, error) {
	v, err := rd.Get(bodyKey(bodyCount, ref))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read body references: %w", err)
	}
	if len(v) != 8+sha256.Size {
		return 0, nil, fmt.Errorf("%w: bad body reference count", errCorrupt)
	}
	return store.Uint64(v), v[8:], nil
}

// findBody returns the reference of the stored body of b's bytes, nil if
// there is none.
func findBody(rd store.Reader, b *SharedBody) ([]byte, error) {
	v, err := rd.Get(bodyKey(bodyIndex, b.sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read body index: %w", err)
	}
	if len(v) != refLen {
		return nil, fmt.Errorf("%w: bad body index entry", errCorrupt)
	}
	return v, nil
}

// acquireBody counts one more reference to b, storing the body when it is
// the first, and returns the body's reference. A transaction appending
// many copies reads the index and count from its own pending writes after
// the first, and writes the count once. A body stored anew is numbered
// seq when not 0 (a number of the store's sequence that no other body
// has: the record's own), else by the next number of the sequence.
func acquireBody(tx store.Txn, b *SharedBody, seq uint64) ([]byte, error) {
	ref := b.ref
	var err error
	if ref == nil && !b.fresh {
		if ref, err = findBody(tx, b); err != nil {
			return nil, err
		}
	}
	n := uint64(0)
	if ref != nil {
		if n, _, err = bodyRefs(tx, ref); err != nil {
			return nil, err
		}
		if n == 0 {
			ref = nil // not stored (any more): store it anew
		}
	}
	if ref == nil {
		if seq == 0 {
			seq = tx.NextSeq()
		}
		ref = store.AppendUint64(nil, seq)
		if err := tx.Set(bodyKey(bodyData, ref), b.body); err != nil {
			return nil, err
		}
		if err := tx.Set(bodyKey(bodyIndex, b.sum[:]), ref); err != nil {
			return nil, err
		}
	}
	b.ref = ref
	return ref, tx.Set(bodyKey(bodyCount, ref), append(store.AppendUint64(nil, n+1), b.sum[:]...))
}

// releaseBody removes one reference to the shared body ref, and the body
// with the last.
func releaseBody(tx store.Txn, ref []byte) error {
	n, sum, err := bodyRefs(tx, ref)
	if err != nil {
		return err
	}
	if n > 1 {
		return tx.Set(bodyKey(bodyCount, ref), append(store.AppendUint64(nil, n-1), sum...))
	}
	if sum != nil {
		// The index may name another body of the same bytes (stored
		// fresh): it is left to that one.
		if v, err := tx.Get(bodyKey(bodyIndex, sum)); err == nil && bytes.Equal(v, ref) {
			if err := tx.Delete(bodyKey(bodyIndex, sum)); err != nil {
				return err
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read body index: %w", err)
		}
	}
	if err := tx.Delete(bodyKey(bodyData, ref)); err != nil {
		return err
	}
	return tx.Delete(bodyKey(bodyCount, ref))
}

// resolveBody returns the shared body ref.
func resolveBody(rd store.Reader, ref []byte) ([]byte, error) {
	v, err := rd.Get(bodyKey(bodyData, ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: missing shared body", errCorrupt)
	}
	return v, err
}

// AppendSeqMemberShared is AppendSeqMember with the body stored by
// reference: the record holds the body's size and reference, and the body
// is stored once for every record of the same bytes (counted, so deleting
// or replacing the last such record deletes it). Reads (Get,
// ScanChildren) resolve the reference and see the body as stored.
func AppendSeqMemberShared(tx store.Txn, c string, seq uint64, contentType string, body *SharedBody, now time.Time) (string, Meta, error) {
	p := c + SeqName(seq)
	m := Meta{ContentType: contentType, Version: seq, Created: now, Modified: now, Size: int64(len(body.body))}
	ref, err := acquireBody(tx, body, 0)
	if err != nil {
		return "", m, fmt.Errorf("store %s: %w", p, err)
	}
	return p, m, tx.Set(resourceKey(p), encodeSharedRecord(m, ref))
}

// AppendMemberShared is AppendMember with the body stored by reference,
// as AppendSeqMemberShared stores it: a resource whose copies elsewhere
// reference the same body (an event and its inbox copies) has its bytes
// stored once for all of them, and deleting it leaves the copies theirs.
// seq must come from tx.NextSeq, as for AppendMember: a body stored anew
// is numbered by it.
func AppendMemberShared(tx store.Txn, c, name string, seq uint64, contentType string, body *SharedBody, now time.Time) (string, Meta, error) {
	p := c + name
	m := Meta{ContentType: contentType, Version: seq, Created: now, Modified: now, Member: seq, Size: int64(len(body.body))}
	if err := tx.Set(memberKey(c, seq), []byte(p)); err != nil {
		return "", m, err
	}
	// A body stored anew takes the resource's number, seq: the store's
	// sequence moves on as it did when the body was inline.
	ref, err := acquireBody(tx, body, seq)
	if err != nil {
		return "", m, fmt.Errorf("store %s: %w", p, err)
	}
	return p, m, tx.Set(resourceKey(p), encodeSharedRecord(m, ref))
}

// GetShared returns the body of the resource at p as a SharedBody that
// records of tx can reference: when p references a shared body, that one,
// found without hashing or looking its bytes up; when p holds its body
// inline, its bytes, stored by reference by the first record that
// references them (as NewSharedBody). It is ErrNotFound when p does not
// exist.
func GetShared(tx store.Txn, p string) (*SharedBody, error) {
	v, err := tx.Get(resourceKey(p))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	_, body, ref, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if ref == nil {
		return NewSharedBody(bytes.Clone(body)), nil
	}
	n, sum, err := bodyRefs(tx, ref)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("read %s: %w: shared body not counted", p, errCorrupt)
	}
	body, err = resolveBody(tx, ref)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	b := &SharedBody{body: body, ref: bytes.Clone(ref)}
	copy(b.sum[:], sum)
	return b, nil
}

// ShareBody rewrites the record at p, when it holds its body inline, to
// reference the body as a shared body instead (as AppendSeqMemberShared
// stores it), keeping its metadata and entity tag: the conversion of a
// record written before shared bodies, when it is touched. It reports
// whether the record was rewritten.
func ShareBody(tx store.Txn, p string) (bool, error) {
	v, err := tx.Get(resourceKey(p))
	if errors.Is(err, store.ErrNotFound) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	m, body, ref, err := decodeRecord(v)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	if ref != nil || IsContainer(p) {
		return false, nil
	}
	ref, err = acquireBody(tx, NewSharedBody(body), 0)
	if err != nil {
		return false, fmt.Errorf("share %s: %w", p, err)
	}
	return true, tx.Set(resourceKey(p), encodeSharedRecord(m, ref))
}

// BodyRefs returns how many records reference body as a shared body (0
// when it is not stored): for tests and storage reports.
func BodyRefs(rd store.Reader, body []byte) (uint64, error) {
	ref, err := findBody(rd, NewSharedBody(body))
	if err != nil || ref == nil {
		return 0, err
	}
	n, _, err := bodyRefs(rd, ref)
	return n, err
}

// PurgeKey deletes key in tx, whatever package owns it; when it is a
// resource record that references a shared body, the reference is
// released first (the body goes with the last). For removing a whole
// pod's keys by range (pod.Server.DeletePod) without leaving its shared
// bodies counted forever.
func PurgeKey(tx store.Txn, key []byte) error {
	if bytes.HasPrefix(key, []byte(store.PrefixResource)) {
		v, err := tx.Get(key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read %s: %w", key, err)
		}
		if err == nil {
			if _, _, ref, err := decodeRecord(v); err == nil && ref != nil {
				if err := releaseBody(tx, ref); err != nil {
					return fmt.Errorf("purge %s: %w", key, err)
				}
			}
		}
	}
	return tx.Delete(key)
}

// Child is a stored direct child of a container, as ReadChildren returns
// it.
type Child struct {
	Path string
	Meta Meta
	// Body is the child's body (a copy), a shared body resolved.
	Body []byte
	// OwnACL is true when the child has an ACL document of its own
	// (ACLPath), so its access is not inherited from c's acl:default.
	OwnACL bool
}

// ReadChildren returns up to limit of the children ScanChildren finds from
// startName that keep accepts (nil: all), with their bodies, and whether
// another accepted child follows them. It resolves the shared bodies of
// the page together: bodies stored one after the other lie side by side,
// so one ordered scan over them reads most of them (a point read each
// finds the rest), which keeps an inbox page about as fast as with its
// bodies inline.
//
// The same scan tells which children have an ACL document of their own
// (Child.OwnACL), at no extra read: an ACL document is a record of c too,
// and p.acl sorts after p. Once the page is full the scan goes on to the
// first child after the last child's ACL path (for sequence-named
// children, the next child, where it stopped before).
func ReadChildren(rd store.Reader, c, startName string, limit int, keep func(p string) bool) ([]Child, bool, error) {
	var out []Child
	var shared []int  // indexes in out of the children with a shared body
	var refs []uint64 // their references
	more := false
	var acls map[string]bool // ACL documents of children the scan passed
	onACL := func(p string) error {
		if acls == nil {
			acls = map[string]bool{}
		}
		acls[p] = true
		return nil
	}
	err := scanChildren(rd, c, startName, onACL, func(p string, m Meta, body, ref []byte) error {
		if keep != nil && !keep(p) {
			return nil
		}
		if len(out) == limit {
			more = true
			if limit == 0 || p > ACLPath(out[len(out)-1].Path) {
				return store.ErrStop // past the last child's ACL path
			}
			return nil
		}
		ch := Child{Path: p, Meta: m}
		if ref != nil {
			shared = append(shared, len(out))
			refs = append(refs, store.Uint64(ref))
		} else {
			ch.Body = append([]byte{}, body...)
		}
		out = append(out, ch)
		return nil
	})
	for i := range out {
		out[i].OwnACL = acls[ACLPath(out[i].Path)]
	}
	if err != nil || len(refs) == 0 {
		return out, more, err
	}
	bodies, err := readBodies(rd, refs)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", c, err)
	}
	for i, j := range shared {
		out[j].Body = bodies[refs[i]]
	}
	return out, more, nil
}

// pointReads is how many shared bodies readBodies reads by point reads
// rather than by a scan.
const pointReads = 4

// readBodies returns the shared bodies refs name: those that lie between
// the least and the greatest with few others between them by one ordered
// scan, the others by a point read each.
func readBodies(rd store.Reader, refs []uint64) (map[uint64][]byte, error) {
	want := make(map[uint64]bool, len(refs))
	lo, hi := refs[0], refs[0]
	for _, r := range refs {
		want[r] = true
		lo, hi = min(lo, r), max(hi, r)
	}
	got := make(map[uint64][]byte, len(want))
	prefix := bodyKey(bodyData, nil)
	budget := 2*len(want) + 16 // keys the scan may read before giving up
	var err error
	if len(want) > pointReads { // a few point reads cost less than a scan
		err = rd.Scan(prefix, store.AppendUint64(bodyKey(bodyData, nil), lo), false, func(k, v []byte) error {
			r := store.Uint64(k[len(prefix):])
			if r > hi || budget == 0 {
				return store.ErrStop
			}
			budget--
			if want[r] {
				got[r] = append([]byte{}, v...)
				if len(got) == len(want) {
					return store.ErrStop
				}
			}
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	for r := range want {
		if _, ok := got[r]; ok {
			continue
		}
		b, err := resolveBody(rd, store.AppendUint64(nil, r))
		if err != nil {
			return nil, err
		}
		got[r] = b
	}
	return got, nil
}
