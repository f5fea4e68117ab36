package ldp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"podserver/store"
)

// Key layout (owned by this package):
//
//	store.PrefixResource + path           -> record: encoded Meta, then the body
//	                                         (or the body's size and reference)
//	store.PrefixMember + container + 0x00 + member seq (8 bytes) -> child path
//	store.PrefixBody + "d" + body seq (8 bytes) -> a shared body
//	store.PrefixBody + "n" + body seq (8 bytes) -> how many records reference it (8 bytes) + sha256(body)
//	store.PrefixBody + "h" + sha256(body) -> body seq (8 bytes)
//
// A record holds its body inline, or (written by AppendSeqMemberShared) a
// reference to a shared body (its seq): the body is stored once for every
// record of the same bytes, and counted, so that a thousand copies of one
// event cost one body.
// Reading a record resolves the reference (one point read); replacing or
// deleting the record releases it, and the last release deletes the body.

// A resource's Meta.Member is the seq of its membership key, so deleting a
// resource removes its membership entry with one point delete, and listing a
// container in creation order is one prefix scan. Auxiliary resources (.acl)
// and pod roots have no membership entry, nor have the members of a
// sequence-named container (AppendSeqMember): their names sort in creation
// order, so the scan of their records lists them (ListSeqNamed), and their
// Meta.Member is 0. Containers have a record with an empty body.

// Meta is what the server knows about a stored resource.
type Meta struct {
	// ContentType is the media type the representation was stored in
	// (without parameters), "" for a container.
	ContentType string
	// Version is the store seq of the last write; the ETag derives from it.
	Version uint64
	// Created and Modified are the creation and last write times.
	Created, Modified time.Time
	// Member is the seq of the resource's membership entry in its container,
	// 0 when it has none.
	Member uint64
	// Size is the body's length in bytes.
	Size int64
}

// ETag returns the strong entity tag of the stored representation.
func (m Meta) ETag() string { return `"` + strconv.FormatUint(m.Version, 36) + `"` }

// The record formats: the body inline, or a shared body's size and
// reference (the body's seq, refLen bytes).
const (
	recordFormat       = 1
	recordFormatShared = 2
	refLen             = 8
)

func resourceKey(p string) []byte {
	return append([]byte(store.PrefixResource), p...)
}

func memberPrefix(container string) []byte {
	k := make([]byte, 0, len(store.PrefixMember)+len(container)+1)
	k = append(k, store.PrefixMember...)
	k = append(k, container...)
	return append(k, 0)
}

func memberKey(container string, seq uint64) []byte {
	return store.AppendUint64(memberPrefix(container), seq)
}

// encodeRecord lays out a record: format byte, uvarint fields, the content
// type, then the body.
func encodeRecord(m Meta, body []byte) []byte {
	b := make([]byte, 0, 1+5*binary.MaxVarintLen64+len(m.ContentType)+len(body))
	return append(appendRecordHead(b, recordFormat, m), body...)
}

// appendRecordHead appends a record's format byte, uvarint fields and
// content type to b.
func appendRecordHead(b []byte, format byte, m Meta) []byte {
	b = append(b, format)
	b = binary.AppendUvarint(b, m.Version)
	b = binary.AppendVarint(b, m.Created.UnixNano())
	b = binary.AppendVarint(b, m.Modified.UnixNano())
	b = binary.AppendUvarint(b, m.Member)
	b = binary.AppendUvarint(b, uint64(len(m.ContentType)))
	return append(b, m.ContentType...)
}

// encodeSharedRecord lays out a record whose body is the shared body ref
// of size bytes: format byte, the fields of encodeRecord, the size, the ref.
func encodeSharedRecord(m Meta, ref []byte) []byte {
	b := make([]byte, 0, 1+6*binary.MaxVarintLen64+len(m.ContentType)+len(ref))
	b = appendRecordHead(b, recordFormatShared, m)
	b = binary.AppendUvarint(b, uint64(m.Size))
	return append(b, ref...)
}

var errCorrupt = errors.New("ldp: corrupt resource record")

// decodeRecord parses a record. The body, or for a record of a shared body
// its reference (ref != nil, body nil), aliases b.
func decodeRecord(b []byte) (m Meta, body, ref []byte, err error) {
	if len(b) == 0 || (b[0] != recordFormat && b[0] != recordFormatShared) {
		return m, nil, nil, errCorrupt
	}
	i := 1
	uv := func() uint64 {
		if i < 0 {
			return 0
		}
		v, n := binary.Uvarint(b[i:])
		if n <= 0 {
			i = -1
			return 0
		}
		i += n
		return v
	}
	sv := func() int64 {
		if i < 0 {
			return 0
		}
		v, n := binary.Varint(b[i:])
		if n <= 0 {
			i = -1
			return 0
		}
		i += n
		return v
	}
	m.Version = uv()
	m.Created = time.Unix(0, sv()).UTC()
	m.Modified = time.Unix(0, sv()).UTC()
	m.Member = uv()
	ctLen := uv()
	if i < 0 || uint64(len(b)-i) < ctLen {
		return m, nil, nil, fmt.Errorf("%w: truncated", errCorrupt)
	}
	m.ContentType = string(b[i : i+int(ctLen)])
	i += int(ctLen)
	if b[0] == recordFormatShared {
		m.Size = int64(uv())
		if i < 0 || len(b)-i != refLen {
			return m, nil, nil, fmt.Errorf("%w: bad body reference", errCorrupt)
		}
		return m, nil, b[i:], nil
	}
	body = b[i:]
	m.Size = int64(len(body))
	return m, body, nil, nil
}
