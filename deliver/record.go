// Package deliver is podserver's durable delivery queue: deliveries that
// cannot be made inside the publishing transaction (held back by delay or
// deliverAt now; remote LDN inboxes and webhooks with retries later) are
// recorded in the same transaction as the event and carried out by a
// background worker, after restarts too.
//
// # Keys (prefixes owned by this package, see store/keyspace.go)
//
//	store.PrefixDelivery + due (unix ms, 8) + seq (8)         -> Record (JSON), with "lease" while leased
//	store.PrefixDelivery + 0xff + lane + 0x00 + due (8) + seq (8) -> the same, parked (see parkedSpace)
//	store.PrefixOutbox + pod + 0x00 + seq (8)                 -> Record (JSON)
//	store.PrefixDeliveryIndex + "E" + event path + 0x00 + seq (8) -> "" (deliveries of an event)
//	store.PrefixDeliveryIndex + "D" + pod + 0x00 + seq (8)        -> "" (delivered records kept)
//	store.PrefixDeliveryIndex + "C" + channel + 0x00 + seq (8)    -> "" (pending records of a channel)
//
// The "d" entry exists while the delivery is pending; its key orders the
// queue by due time, so the worker finds due work with one prefix scan from
// the start. A due entry whose lane (target site) has no room is parked:
// moved into its lane's range, out of the way of other lanes' records,
// until its lane has room. The "o" entry lists the delivery in its owner's outbox (the
// pod whose settings caused it, Record.Pod)
// while it is pending, after it failed for good, and, after it succeeded,
// for a while: the last Config.KeepDelivered delivered records of each pod
// are kept (their "tD" entries order them for pruning; older ones are
// removed together with their other keys). The "tE" entry indexes every
// record of the outbox by its event, for the event's delivery status; it
// lives exactly as long as the "o" entry. The "tC" entry exists while a
// record with a Channel is pending; the queue counts them at Start to
// bound each channel's pending records (Policy.MaxPerChannel).
//
// # Kinds and their policies
//
// Each kind of record has a handler (HandleLocal, HandleRemote) and may
// have a Policy of its own (SetPolicy): a retry schedule other than
// Config.Schedule, a bound on the pending records of one channel, and
// Transient, for records that are not kept once they leave the queue (not
// listed in the outbox; delivered ones removed; ones that fail for good
// logged and dropped instead of kept as dead letters). Push notifications
// (KindPush) are such records, offered without a transaction of their
// own (Offer). A Transient kind with Policy.Dead (fan-out jobs) keeps its
// records that fail for good as dead letters after all, the state it
// keeps elsewhere ended in the same transaction, and Policy.Revive brings
// that state back when the owner retries one. The retry rule
// (ResponseError, RetryAfter), the jitter and the dead-letter view (the
// outbox) are the same for every kind.
//
// # State machine
//
//	pending --attempt ok---------------------------------> delivered (kept in the outbox, pruned later)
//	pending --failed, attempts <= len(schedule)----------> pending, due = now + schedule[attempts-1] (+ up to 10% jitter)
//	pending --failed with a RetryError (Retry-After)-----> pending, due = now + After
//	pending --failed, attempts > len(schedule)-----------> dead (only the "o" entry is kept)
//	pending --failed with a Permanent error--------------> dead
//	dead, of a Transient kind without Policy.Dead--------> (removed, logged: dropped)
//	delivered, of a Transient kind-----------------------> (removed)
//	dead    --Retry by the owner-------------------------> pending, due now, attempts 0
//	pending --RetryNow by the owner (not while leased)---> pending, due now, attempts kept
//	delivered or dead --Replay (a new record) -----------> (the new record is pending)
//
// An attempt of a local kind runs inside one store transaction together with
// the removal of the record, so it happens exactly once: a crash before the
// commit leaves the record pending and the attempt is made again after the
// restart; a crash after it leaves no record. A failed attempt writes
// nothing but the record's new state. Remote kinds (HandleRemote: LDN to
// other servers, webhooks) attempt outside any transaction and record the
// outcome afterwards: at least once, which the receiving inbox's per-event
// dedup turns into once.
//
// # Several nodes: leases
//
// Several podserver nodes may share one store (store/pgstore), each with
// a Queue named Config.Node. Who attempts what is decided in the store,
// not in memory:
//
//   - Before a remote attempt the node claims the record in a
//     transaction of its own: it moves the record's queue entry to the
//     key of the lease's expiry (now + Config.Lease) and writes the lease
//     into the entry ({"node", "until"} beside the record's fields; the
//     "o" entry is not touched). No node's scan finds the record due
//     before the lease expires, so no other node attempts it meanwhile;
//     the claim fails when the entry is no longer where the scan read it
//     (another node claimed, completed or rescheduled it first).
//   - The outcome (delivered, retry at T, dead) is recorded only if the
//     entry still holds this node's lease (expired or not, as long as no
//     other node claimed it since); otherwise it is dropped and logged: the
//     node that claimed the record after the lease expired records its
//     own. A remote delivery is at least once across nodes as on one.
//   - A node that dies during an attempt leaves its lease in the store:
//     when it expires the entry is due again, at its place in the queue,
//     and any node's scan takes it. A node that closes (Close) gives its
//     leases up at once: their entries go back to their due times. So
//     does Start for the leases held in the node's own name (a stable
//     Config.Node) and, on a Badger store, which one process holds
//     alone, for every lease: a single server restarted after a crash
//     does not wait for its old leases.
//   - Parking (a due record of a full lane moved into its lane's range)
//     is a transaction too, made only when the entry is still as the
//     scan read it, and never to a leased entry, whose holder records its
//     outcome where it leased it. Every node looks for parked lanes once
//     a second and claims their records like any others (the lease
//     decides who attempts one).
//   - Local deliveries take no lease: the transaction that makes the
//     delivery removes the record's entry, and reads it first, so of two
//     nodes attempting one record the serializable store commits one; the
//     other finds it gone and writes nothing. One inbox copy, as on one
//     node.
//
// Config.Lease is well above Config.AttemptTimeout (twice it plus a
// minute by default), and the nodes' clocks must agree to well within
// that margin. A scan reads the due head of the queue only. Each node's
// worker scans when a record is enqueued there (at once, after the
// commit), when Poke tells of another node's write to the queue (the
// server calls it from the cross-node change feed), when the next record
// falls due, and at least every Config.Rescan. A ?wait (Wait) on one node
// learns the outcome of an attempt another node made only if this node
// tried too and found it done; otherwise it ends at its deadline, as
// "pending, not tried".
//
// Each node counts the records it enqueues and the outcomes it records
// (Depth, and each channel's pending records for Policy.MaxPerChannel),
// so a record enqueued on one node and completed on another would stay
// counted on the first: a poked queue (see Poke) recounts its pending
// records and channels from the store every minute. Dead letters are
// counted by the node that recorded them (and at Start).
//
// This package may import store only. It must not import ldp, inbox,
// publish, pod or cmd.
package deliver

import (
	"encoding/json"
	"fmt"
	"time"

	"podserver/store"
)

// Kinds of delivery target.
const (
	// KindInbox is a local pod's inbox: Target is its storage path.
	KindInbox = "inbox"
	// KindLDN is an inbox on another server: Target is the recipient's or
	// subscriber's WebID, whose profile names the inbox (ldp:inbox).
	KindLDN = "ldn"
	// KindWebhook is a webhook: Target is its URL, named by a subscription
	// item of the settings/subscriptions of pod Via, which holds the
	// secret that signs it.
	KindWebhook = "webhook"
	// KindPush is a notification of a Solid Notifications push channel
	// (webhook or LDN): Target is the channel's sendTo URL, Channel the
	// channel's id, EventID the notification's id, and Payload the
	// notification itself. Its policy (schedule, bound, drops) is the
	// notify package's (SetPolicy).
	KindPush = "push"
	// KindFanout is a fan-out job: the subscriber copies of a published
	// event still to be written, in batches (see the publish package).
	// Event and EventID are the event's; Target is the event's storage
	// path too. Its handler and policy are the publish package's.
	KindFanout = "fanout"
)

// Statuses of a Record.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusDead      = "dead"
)

// DefaultSchedule returns the default wait after each failed attempt
// (DESIGN section 2): 5s, 5m, 30m, 2h, 5h, 10h, 10h. A delivery is attempted
// len(schedule)+1 times before it is dead.
func DefaultSchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
}

// Record is one delivery of one event to one target.
type Record struct {
	// Seq identifies the delivery; assigned by Enqueue.
	Seq uint64 `json:"seq"`
	// Kind is the target kind (KindInbox).
	Kind string `json:"kind"`
	// Pod owns the delivery and its outbox lists it: the pod whose
	// settings caused it (DESIGN section 2). That is the publishing pod
	// for the recipient and source it addressed, and the recipient's (or
	// source's) pod for the subscriber copies and webhooks its own
	// settings/subscriptions route. A remote (KindLDN) delivery is signed
	// with Pod's key.
	Pod string `json:"pod"`
	// Event is the storage path of the event resource to deliver.
	Event string `json:"event"`
	// EventID is the event's id (its URL).
	EventID string `json:"eventId"`
	// Target is where to deliver: for KindInbox, the inbox's storage path.
	Target string `json:"target"`
	// Via is the pod whose settings/subscriptions routed a subscriber
	// delivery, for KindWebhook the one that names the webhook (and its
	// secret); "" for the recipient and source. Records written since
	// subscriber deliveries are owned by that pod have Via == Pod.
	Via string `json:"via,omitempty"`
	// Created is when the delivery was recorded.
	Created time.Time `json:"created"`
	// Due is the time of the next attempt.
	Due time.Time `json:"due"`
	// Attempts counts the attempts made.
	Attempts int `json:"attempts"`
	// Status is StatusPending, StatusDelivered or StatusDead.
	Status string `json:"status"`
	// LastError says why the last attempt failed.
	LastError string `json:"lastError,omitempty"`
	// LastStatus is the HTTP status of the target's answer to the last
	// attempt (0: local, or no answer).
	LastStatus int `json:"lastStatus,omitempty"`
	// Delivered is when the delivery succeeded.
	Delivered time.Time `json:"delivered,omitzero"`
	// Channel groups the records that Policy.MaxPerChannel bounds (for
	// KindPush, the notification channel); "" for none.
	Channel string `json:"channel,omitempty"`
	// Payload is what to deliver for kinds that carry it in the record
	// (KindPush), in MediaType; other kinds deliver the stored Event.
	Payload   []byte `json:"payload,omitempty"`
	MediaType string `json:"mediaType,omitempty"`

	// hold is the lease the record held when read from the queue (zero:
	// none); it is stored in the queue entry only (see entry).
	hold lease
	// parked is the key of the record's queue entry when it was read
	// parked (see parkedSpace), else nil.
	parked []byte
}

// Sub-prefixes of store.PrefixDeliveryIndex.
const (
	indexEvent     = "E"
	indexDelivered = "D"
	indexChannel   = "C"
)

// indexPrefix is store.PrefixDeliveryIndex + sub + name + 0x00: the
// prefix of one index's entries for name (an event path or a pod).
func indexPrefix(sub, name string) []byte {
	k := make([]byte, 0, len(store.PrefixDeliveryIndex)+len(sub)+len(name)+9)
	k = append(k, store.PrefixDeliveryIndex+sub...)
	k = append(k, name...)
	return append(k, 0)
}

func eventIndexPrefix(event string) []byte { return indexPrefix(indexEvent, event) }

func eventIndexKey(event string, seq uint64) []byte {
	return store.AppendUint64(eventIndexPrefix(event), seq)
}

func deliveredPrefix(pod string) []byte { return indexPrefix(indexDelivered, pod) }

func deliveredKey(pod string, seq uint64) []byte {
	return store.AppendUint64(deliveredPrefix(pod), seq)
}

func channelPrefix(channel string) []byte { return indexPrefix(indexChannel, channel) }

func channelKey(channel string, seq uint64) []byte {
	return store.AppendUint64(channelPrefix(channel), seq)
}

// putEventIndex indexes the new record r by its event.
func putEventIndex(tx store.Txn, r Record) error {
	if r.Event == "" {
		return nil
	}
	return tx.Set(eventIndexKey(r.Event, r.Seq), nil)
}

// remove deletes r's outbox entry and its indexes.
func remove(tx store.Txn, r Record) error {
	if err := tx.Delete(outboxKey(r.Pod, r.Seq)); err != nil {
		return err
	}
	if r.Status == StatusDelivered {
		if err := tx.Delete(deliveredKey(r.Pod, r.Seq)); err != nil {
			return err
		}
	}
	if r.Event == "" {
		return nil
	}
	return tx.Delete(eventIndexKey(r.Event, r.Seq))
}

func dueKey(due time.Time, seq uint64) []byte {
	ms := due.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	k := make([]byte, 0, len(store.PrefixDelivery)+16)
	k = append(k, store.PrefixDelivery...)
	k = store.AppendUint64(k, uint64(ms))
	return store.AppendUint64(k, seq)
}

func outboxKey(pod string, seq uint64) []byte {
	k := make([]byte, 0, len(store.PrefixOutbox)+len(pod)+9)
	k = append(k, store.PrefixOutbox...)
	k = append(k, pod...)
	k = append(k, 0)
	return store.AppendUint64(k, seq)
}

func decode(v []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("deliver: corrupt record: %w", err)
	}
	return r, nil
}

// put writes r under its queue key (while pending) and, when listed (its
// kind is not Transient), its outbox key.
func put(tx store.Txn, r Record, listed bool) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if r.Status == StatusPending {
		if err := tx.Set(dueKey(r.Due, r.Seq), v); err != nil {
			return err
		}
	}
	if !listed {
		return nil
	}
	return tx.Set(outboxKey(r.Pod, r.Seq), v)
}

// Outbox returns pod's recorded deliveries (pending, dead, and delivered
// ones not yet pruned), oldest first.
func Outbox(rd store.Reader, pod string) ([]Record, error) {
	out, _, err := OutboxPage(rd, pod, 0, 0, nil)
	return out, err
}

// OutboxPage returns up to limit (0: no limit) of pod's records with seq >=
// from for which keep (nil: all) is true, oldest first, and the seq of the
// next such record (0 when there is none). It reads only as far as the page
// needs.
func OutboxPage(rd store.Reader, pod string, from uint64, limit int, keep func(Record) bool) ([]Record, uint64, error) {
	return outboxPage(rd, pod, from, limit, keep, false)
}

// OutboxPageNewest is OutboxPage newest first: records with seq <= from
// (0: from the newest), and the seq of the next older such record.
func OutboxPageNewest(rd store.Reader, pod string, from uint64, limit int, keep func(Record) bool) ([]Record, uint64, error) {
	return outboxPage(rd, pod, from, limit, keep, true)
}

func outboxPage(rd store.Reader, pod string, from uint64, limit int, keep func(Record) bool, reverse bool) ([]Record, uint64, error) {
	prefix := outboxKey(pod, 0)
	prefix = prefix[:len(prefix)-8]
	var start []byte
	if from > 0 {
		start = outboxKey(pod, from)
	}
	var out []Record
	var next uint64
	err := rd.Scan(prefix, start, reverse, func(_, v []byte) error {
		r, err := decode(v)
		if err != nil {
			return err
		}
		if keep != nil && !keep(r) {
			return nil
		}
		if limit > 0 && len(out) == limit {
			next = r.Seq
			return store.ErrStop
		}
		out = append(out, r)
		return nil
	})
	return out, next, err
}
