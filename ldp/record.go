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
//	store.PrefixMember + container + 0x00 + member seq (8 bytes) -> child path
//
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

const recordFormat = 1

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
	b = append(b, recordFormat)
	b = binary.AppendUvarint(b, m.Version)
	b = binary.AppendVarint(b, m.Created.UnixNano())
	b = binary.AppendVarint(b, m.Modified.UnixNano())
	b = binary.AppendUvarint(b, m.Member)
	b = binary.AppendUvarint(b, uint64(len(m.ContentType)))
	b = append(b, m.ContentType...)
	return append(b, body...)
}

var errCorrupt = errors.New("ldp: corrupt resource record")

// decodeRecord parses a record. The body aliases b.
func decodeRecord(b []byte) (Meta, []byte, error) {
	var m Meta
	if len(b) == 0 || b[0] != recordFormat {
		return m, nil, errCorrupt
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
		return m, nil, fmt.Errorf("%w: truncated", errCorrupt)
	}
	m.ContentType = string(b[i : i+int(ctLen)])
	body := b[i+int(ctLen):]
	m.Size = int64(len(body))
	return m, body, nil
}
