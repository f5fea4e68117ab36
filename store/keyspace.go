package store

import "encoding/binary"

// The keyspace. Every key starts with one of these prefixes; each prefix
// belongs to exactly one package, which is the only code that reads or writes
// keys under it. Where a package divides its prefix further, the second byte
// is listed here too. Paths are storage paths: "/{pod}/{path within the
// pod}", independent of how pods are named in URLs. Numbers are big-endian
// so keys sort numerically; seq(8) is an 8-byte sequence number.
//
// One exception to ownership: deleting a pod (pod.Server.DeletePod) removes
// its data under every prefix, whoever owns it, by the key forms listed
// here (and the "pod" field of delivery and channel records); a new key
// form holding a pod's data must be added to pod's purgeRanges.
const (
	// PrefixResource: "r" + path -> ldp resource record (metadata and body).
	// Owner: ldp.
	PrefixResource = "r"
	// PrefixMember: "m" + container path + 0x00 + seq(8) -> child path.
	// Lists a container's children in creation order (except those of
	// sequence-named containers such as inboxes, see ldp.AppendSeqMember).
	// Owner: ldp.
	PrefixMember = "m"
	// PrefixBody: "b" + "d" + seq(8) -> a resource body stored once for
	// every record that references it (inbox items: the copies of one
	// event), stored under a seq taken when it is first stored; "b" + "n"
	// + seq(8) -> how many records reference it (8 bytes) + sha256(body);
	// "b" + "h" + sha256(body) -> seq(8), to find the body of equal bytes.
	// The last record released deletes all three. Owner: ldp.
	PrefixBody = "b"
	// PrefixPod: "p" + pod name -> pod record (JSON). Owner: ldp.
	PrefixPod = "p"
	// PrefixKey: "k" + sha256(API key) -> key record. Owner: acl.
	PrefixKey = "k"
	// PrefixPodKey: "K" + pod + 0x00 + key id -> sha256(API key). Lists a
	// pod's keys. Owner: acl.
	PrefixPodKey = "K"
	// PrefixEventID: "e" + pod + 0x00 + client event id -> event path +
	// 0x00 + sha256 of the event's compacted JSON, for idempotent publish
	// (same id and body: the same event; another body: a conflict).
	// Owner: publish.
	PrefixEventID = "e"
	// PrefixEventCopies: "c" + event id -> the inboxes holding a copy of
	// the event and their items ((uvarint len(inbox), inbox, item seq(8))
	// repeated). Makes every inbox hold one copy per event id. Owner: inbox.
	PrefixEventCopies = "c"
	// PrefixInboxDedup: "i" + inbox path + 0x00 + event id -> item path.
	// What PrefixEventCopies replaced; data written before it still has
	// these keys, which are read, never written. Owner: inbox.
	PrefixInboxDedup = "i"
	// PrefixItemSender: "j" + inbox item path -> who delivered an item
	// stored as sent (JSON {"agent", "instrument"}). Owner: inbox.
	PrefixItemSender = "j"
	// PrefixFanout: "F" + event path + 0x00 + batch(4) -> the inbox
	// paths (newline-separated) of one batch of a fan-out job: the
	// subscriber copies of a published event not yet written. A batch's
	// key goes in the transaction that writes its copies. Owner: publish.
	PrefixFanout = "F"
	// PrefixDelivery: "d" + due time (unix ms, 8) + seq(8) -> delivery
	// record. The durable delivery queue, ordered by due time. Owner: deliver.
	PrefixDelivery = "d"
	// PrefixOutbox: "o" + pod + 0x00 + seq(8) -> delivery record state, for
	// listing a pod's outbox. Owner: deliver.
	PrefixOutbox = "o"
	// PrefixDeliveryIndex: "t" + "E" + event path + 0x00 + seq(8) -> "",
	// the deliveries of an event; "t" + "D" + pod + 0x00 + seq(8) -> "",
	// the delivered records a pod's outbox keeps, oldest first; "t" + "C" +
	// channel + 0x00 + seq(8) -> "", the pending records of a channel
	// (push notifications). Owner: deliver.
	PrefixDeliveryIndex = "t"
	// PrefixPodSecret: "s" + pod name -> the pod's Ed25519 signing key seed
	// (32 bytes), whose public key the pod's profile publishes. Owner: pod.
	PrefixPodSecret = "s"
	// PrefixChannel: "n" + "c" + channel id -> notification channel
	// (JSON). Owner: notify. "n" + "q" + seq(8) held push notifications
	// waiting for a retry before they moved onto the delivery queue
	// (deliver.KindPush); notify moves any it finds there at start and
	// writes none.
	PrefixChannel = "n"
	// PrefixNonce: "N" + "h" + sha256(key id + " " + nonce) -> expiry;
	// "N" + "x" + expiry (unix ms, 8) + the same hash -> "". The nonces
	// of accepted HTTP message signatures, kept for their acceptance
	// window so a replay is refused across restarts. Owner: replay.
	PrefixNonce = "N"
	// PrefixOperator: "O" + "key" -> sha256(operator key), the key of the
	// operator API (/admin/). Owner: pod.
	PrefixOperator = "O"
	// PrefixIDP: "I" + kind byte + ... -> the identity provider's state:
	// signing keys, auth requests, codes, refresh and access tokens,
	// clients, consents and passwords (the kinds are listed in package
	// idp's Prefix). A pod's password, clients and consents are under
	// "I" + kind + pod + 0x00. Owner: idp.
	PrefixIDP = "I"
	// prefixMeta: "\xff" + name -> store-internal metadata (the sequence).
	prefixMeta = "\xff"
)

// AppendUint64 appends v to b as 8 big-endian bytes, so that encoded numbers
// sort in numeric order.
func AppendUint64(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, v)
}

// Uint64 decodes 8 big-endian bytes written by AppendUint64. It returns 0 if
// b is shorter than 8 bytes.
func Uint64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, or nil if there is none (the prefix is all 0xff bytes).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
