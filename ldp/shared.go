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
// a thousand inboxes) is stored once, under its SHA-256, with a count of
// the records that reference it. See record.go for the keys.

// SharedBody is a body to store by reference: NewSharedBody hashes it once
// for every record appended with it.
type SharedBody struct {
	ref  [refLen]byte
	body []byte
}

// NewSharedBody returns body ready to be referenced by records.
func NewSharedBody(body []byte) *SharedBody {
	return &SharedBody{ref: sha256.Sum256(body), body: body}
}

// Bytes returns the body.
func (b *SharedBody) Bytes() []byte { return b.body }

func bodyKey(ref []byte) []byte {
	k := make([]byte, 0, len(store.PrefixBody)+1+len(ref))
	k = append(k, store.PrefixBody...)
	k = append(k, 'd')
	return append(k, ref...)
}

func bodyCountKey(ref []byte) []byte {
	k := make([]byte, 0, len(store.PrefixBody)+1+len(ref))
	k = append(k, store.PrefixBody...)
	k = append(k, 'n')
	return append(k, ref...)
}

// bodyRefs returns how many records reference the shared body ref.
func bodyRefs(rd store.Reader, ref []byte) (uint64, error) {
	v, err := rd.Get(bodyCountKey(ref))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read body references: %w", err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: bad body reference count", errCorrupt)
	}
	return store.Uint64(v), nil
}

// acquireBody counts one more reference to b, storing the body when it is
// the first. A transaction appending many copies reads the count from its
// own pending writes after the first, and writes it once.
func acquireBody(tx store.Txn, b *SharedBody) error {
	n, err := bodyRefs(tx, b.ref[:])
	if err != nil {
		return err
	}
	if n == 0 {
		if err := tx.Set(bodyKey(b.ref[:]), b.body); err != nil {
			return err
		}
	}
	return tx.Set(bodyCountKey(b.ref[:]), store.AppendUint64(nil, n+1))
}

// releaseBody removes one reference to the shared body ref, and the body
// with the last.
func releaseBody(tx store.Txn, ref []byte) error {
	n, err := bodyRefs(tx, ref)
	if err != nil {
		return err
	}
	if n <= 1 {
		if err := tx.Delete(bodyKey(ref)); err != nil {
			return err
		}
		return tx.Delete(bodyCountKey(ref))
	}
	return tx.Set(bodyCountKey(ref), store.AppendUint64(nil, n-1))
}

// resolveBody returns the shared body ref.
func resolveBody(rd store.Reader, ref []byte) ([]byte, error) {
	v, err := rd.Get(bodyKey(ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: missing shared body", errCorrupt)
	}
	return v, err
}

// AppendSeqMemberShared is AppendSeqMember with the body stored by
// reference: the record holds the body's size and SHA-256, and the body is
// stored once for every record that references it (counted, so deleting
// or replacing the last such record deletes it). Reads (Get,
// ScanChildren) resolve the reference and see the body as stored.
func AppendSeqMemberShared(tx store.Txn, c string, seq uint64, contentType string, body *SharedBody, now time.Time) (string, Meta, error) {
	p := c + SeqName(seq)
	m := Meta{ContentType: contentType, Version: seq, Created: now, Modified: now, Size: int64(len(body.body))}
	if err := acquireBody(tx, body); err != nil {
		return "", m, fmt.Errorf("store %s: %w", p, err)
	}
	return p, m, tx.Set(resourceKey(p), encodeSharedRecord(m, body.ref[:]))
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
	b := NewSharedBody(body)
	if err := acquireBody(tx, b); err != nil {
		return false, fmt.Errorf("share %s: %w", p, err)
	}
	return true, tx.Set(resourceKey(p), encodeSharedRecord(m, b.ref[:]))
}

// BodyRefs returns how many records reference body as a shared body (0
// when it is not stored): for tests and storage reports.
func BodyRefs(rd store.Reader, body []byte) (uint64, error) {
	ref := sha256.Sum256(body)
	return bodyRefs(rd, ref[:])
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
