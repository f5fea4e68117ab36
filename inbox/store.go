package inbox

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// ErrNoInbox is returned by Append when the inbox's pod does not exist.
var ErrNoInbox = errors.New("inbox: no such pod")

// ItemName returns the name of the item stored with sequence number seq
// (ldp.SeqName: inboxes are sequence-named containers).
func ItemName(seq uint64) string { return ldp.SeqName(seq) }

// ParseItemName returns the sequence number an item name encodes.
func ParseItemName(name string) (uint64, bool) { return ldp.ParseSeqName(name) }

// Path returns the storage path of pod's inbox.
func Path(pod string) string { return ldp.StoragePath(pod, "inbox/") }

// copiesKey is the key that records which inboxes hold a copy of eventID,
// and their items: one key per event, written once by a publish whatever
// its fan-out.
func copiesKey(eventID string) []byte {
	k := make([]byte, 0, len(store.PrefixEventCopies)+len(eventID)+5)
	k = append(k, store.PrefixEventCopies...)
	return append(k, eventID...)
}

// copiesPartPrefix is the prefix of the parts of eventID's copies entry:
// copiesKey + 0x00 (an event id, a URL, holds no 0x00).
func copiesPartPrefix(eventID string) []byte {
	return append(copiesKey(eventID), 0)
}

// copiesPartKey is the key of part part of eventID's copies entry: the
// copies of one batch of a fan-out job (AppendPart), so that a batch
// writes its own holders instead of rewriting the whole entry.
func copiesPartKey(eventID string, part uint32) []byte {
	return binary.BigEndian.AppendUint32(copiesPartPrefix(eventID), part)
}

// readCopies returns the holders of eventID recorded in its copies entry
// and all its parts, concatenated.
func readCopies(rd store.Reader, eventID string) ([]byte, error) {
	v, err := rd.Get(copiesKey(eventID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	err = rd.Scan(copiesPartPrefix(eventID), nil, false, func(_, p []byte) error {
		v = append(v, p...)
		return nil
	})
	return v, err
}

// anyLegacy reports whether the store holds any legacyDedupKey at all: a
// store created since copiesKey has none, and appending many copies then
// skips looking each up.
func anyLegacy(rd store.Reader) (bool, error) {
	found := false
	err := rd.Scan([]byte(store.PrefixInboxDedup), nil, false, func(_, _ []byte) error {
		found = true
		return store.ErrStop
	})
	return found, err
}

// legacyDedupKey is the per-inbox key of data written before copiesKey:
// store.PrefixInboxDedup + inbox + 0x00 + event id -> item path. It is read,
// never written.
func legacyDedupKey(inbox, eventID string) []byte {
	k := make([]byte, 0, len(store.PrefixInboxDedup)+len(inbox)+1+len(eventID))
	k = append(k, store.PrefixInboxDedup...)
	k = append(k, inbox...)
	k = append(k, 0)
	return append(k, eventID...)
}

// holder is one entry of a copiesKey value: an inbox and the sequence
// number of its item (named ItemName(seq)).
type holder struct {
	inbox string
	seq   uint64
}

// appendHolder encodes h onto b: uvarint len(inbox), inbox, seq (8 bytes).
func appendHolder(b []byte, h holder) []byte {
	b = binary.AppendUvarint(b, uint64(len(h.inbox)))
	b = append(b, h.inbox...)
	return store.AppendUint64(b, h.seq)
}

// findHolder returns the item of inbox in an encoded copiesKey value.
func findHolder(v []byte, inbox string) (string, bool, error) {
	for len(v) > 0 {
		h, rest, err := nextHolder(v)
		if err != nil {
			return "", false, err
		}
		if h.inbox == inbox {
			return inbox + ItemName(h.seq), true, nil
		}
		v = rest
	}
	return "", false, nil
}

// holderIndex maps each inbox of an encoded copiesKey value to its item.
func holderIndex(v []byte) (map[string]string, error) {
	m := map[string]string{}
	return m, addHolders(m, v)
}

// addHolders adds the holders of an encoded copiesKey value to m.
func addHolders(m map[string]string, v []byte) error {
	for len(v) > 0 {
		h, rest, err := nextHolder(v)
		if err != nil {
			return err
		}
		m[h.inbox] = h.inbox + ItemName(h.seq)
		v = rest
	}
	return nil
}

// nextHolder decodes the first entry of an encoded copiesKey value.
func nextHolder(v []byte) (holder, []byte, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n+8 {
		return holder{}, nil, errCorruptCopies
	}
	end := k + int(n)
	return holder{inbox: string(v[k:end]), seq: store.Uint64(v[end:])}, v[end+8:], nil
}

var errCorruptCopies = errors.New("inbox: corrupt event copies entry")

// Inboxes stores items and wakes the readers waiting for them. It is safe
// for concurrent use; one serves a whole store.
type Inboxes struct {
	notify *Notifier
	// last is the latest arrival time handed out (unix ns), so that arrival
	// times never decrease in sequence order (see arrival).
	last atomic.Int64
}

// New returns an Inboxes.
func New() *Inboxes { return &Inboxes{notify: NewNotifier()} }

// Notifier returns the notifier woken after each durable arrival.
func (ib *Inboxes) Notifier() *Notifier { return ib.notify }

// WakeAll wakes every waiting reader, to look again: for when the change
// feed may have missed arrivals (pgstore.Options.OnReset).
func (ib *Inboxes) WakeAll() { ib.notify.NotifyAll() }

// Observe wakes the readers waiting on the container of each resource the
// changes wrote. It is to be fed the store's change feed (store.Options'
// OnChange, with store.PrefixResource watched): so an arrival wakes
// long-polls whoever committed it, this node or another sharing the
// store, and whatever wrote it (Append, or an LDP POST to the inbox).
func (ib *Inboxes) Observe(changes []store.Change) {
	for _, c := range changes {
		p, ok := strings.CutPrefix(string(c.Key), store.PrefixResource)
		if !ok || c.Deleted {
			continue
		}
		if i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/'); i >= 0 {
			ib.notify.Notify(p[:i+1])
		}
	}
}

// arrival returns now, or the last arrival time when the clock went back,
// so that items' arrival times are non-decreasing in sequence order (Append
// runs inside the store's serial writer), which the time search relies on.
func (ib *Inboxes) arrival(now time.Time) time.Time {
	n := now.UnixNano()
	for {
		last := ib.last.Load()
		if n <= last {
			return time.Unix(0, last).UTC()
		}
		if ib.last.CompareAndSwap(last, n) {
			return now.UTC()
		}
	}
}

// Sender is who delivered an item that is stored as sent: the server
// records it beside the item, never in it, so the item's graph stays the
// sender's. The app-facing listing shows it (see Handler.List).
type Sender struct {
	// Agent is the WebID of the agent that delivered the item.
	Agent string `json:"agent"`
	// Instrument is the app (the API key's name) it used, if any.
	Instrument string `json:"instrument,omitempty"`
}

// senderKey is the key of the Sender of the item at path.
func senderKey(item string) []byte {
	return append([]byte(store.PrefixItemSender), item...)
}

// Copy is one event copy to store in an inbox.
type Copy struct {
	// Inbox is the inbox's storage path.
	Inbox string
	// EventID is the event's id (its URL); "" is never a duplicate.
	EventID string
	// Body is the notification to store, of media type MediaType.
	Body []byte
	// MediaType is Body's ("" for application/ld+json, the only type of
	// the copies the server writes whole: any other needs a Sender).
	MediaType string
	// Sender, if set, is recorded beside the item: Body is stored as the
	// sender sent it, without server fields.
	Sender *Sender
	// NewEvent says the event id is new to every inbox: the event was
	// stored in this same transaction under an id the server made, so the
	// dedup entry is written without being looked up first.
	NewEvent bool
	// InboxExists says the caller knows the inbox container exists (a
	// pod's inbox/ cannot be deleted), so it is not looked up.
	InboxExists bool
	// Shared, if set, is Body as a stored shared body (the event
	// resource's own, ldp.SharedBodyOf): a copy the server writes whole
	// references it instead of looking its bytes up.
	Shared *ldp.SharedBody
}

// Append stores c as a new item of its inbox, unless the inbox already
// holds a copy of c.EventID; it then returns the existing item's path and
// added false. A missing inbox container is created again (unless
// c.InboxExists); a missing pod gives ErrNoInbox. Waiting readers are woken
// once tx is durable.
func (ib *Inboxes) Append(tx store.Txn, c Copy, now time.Time) (item string, added bool, err error) {
	res, err := ib.AppendAll(tx, []Copy{c}, now)
	if err != nil {
		return "", false, err
	}
	return res[0].Item, res[0].Added, nil
}

// Appended is the outcome of one copy of AppendAll.
type Appended struct {
	// Item is the path of the inbox's item holding the event.
	Item string
	// Added is false when the inbox held a copy already.
	Added bool
}

// AppendAll is Append for copies of one event (every c.EventID the same)
// into distinct inboxes, recording them all under the event's one copies
// entry: a publish writes one dedup key whatever its fan-out. It returns an
// outcome per copy, in order.
//
// A copy the server writes whole (no Sender) is stored by reference
// (ldp.AppendSeqMemberShared): its body once for every copy of the same
// bytes, in this call, in other calls (a fan-out in batches) and in other
// events, counted, and gone with the last copy. A copy stored as sent
// (with a Sender: one item per delivery) holds its body inline.
func (ib *Inboxes) AppendAll(tx store.Txn, cs []Copy, now time.Time) ([]Appended, error) {
	return ib.appendCopies(tx, cs, nil, now)
}

// AppendPart is AppendAll for one batch of a fan-out job: the copies are
// recorded under part part of the event's copies entry, a key of the
// batch's own, so that no batch rewrites the holders of the others. The
// caller guarantees that the inboxes of different parts are distinct (the
// job's batches split one de-duplicated list): a copy is looked up in the
// event's copies entry (the copies written otherwise) and in part part,
// not in the other parts. Every reader (Holders, Holds, AppendAll) reads
// all the parts.
func (ib *Inboxes) AppendPart(tx store.Txn, cs []Copy, part uint32, now time.Time) ([]Appended, error) {
	return ib.appendCopies(tx, cs, copiesPartKey(cs[0].EventID, part), now)
}

// appendCopies is AppendAll (pk nil) and AppendPart (pk the part's key).
func (ib *Inboxes) appendCopies(tx store.Txn, cs []Copy, pk []byte, now time.Time) ([]Appended, error) {
	out := make([]Appended, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	id := cs[0].EventID
	if pk != nil && (id == "" || cs[0].NewEvent) {
		return nil, fmt.Errorf("inbox: AppendPart of copies of %q, a new event or none", id)
	}
	// wk is the key recording the copies written here, entry its value;
	// known the holders recorded elsewhere (lookup only).
	var wk, entry, known []byte
	legacy := false
	if id != "" {
		wk = copiesKey(id)
		if !cs[0].NewEvent {
			var err error
			if pk == nil {
				if entry, err = tx.Get(wk); errors.Is(err, store.ErrNotFound) {
					err = nil
				}
				if err == nil {
					err = tx.Scan(copiesPartPrefix(id), nil, false, func(_, p []byte) error {
						known = append(known, p...)
						return nil
					})
				}
			} else {
				if known, err = tx.Get(wk); errors.Is(err, store.ErrNotFound) {
					err = nil
				}
				wk = pk
				if err == nil {
					if entry, err = tx.Get(wk); errors.Is(err, store.ErrNotFound) {
						err = nil
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("inbox: read copies of %s: %w", id, err)
			}
			// Data written before the copies entries has per-inbox
			// keys: looked up one by one, unless the store has none.
			legacy = true
			if len(cs) > 1 {
				if legacy, err = anyLegacy(tx); err != nil {
					return nil, fmt.Errorf("inbox: read copies of %s: %w", id, err)
				}
			}
		}
	}
	grew := false
	// A batch of a large fan-out looks its inboxes up in an index of the
	// holders, not by scanning them once per copy.
	var index map[string]string
	if len(cs) > 8 && len(entry)+len(known) > 0 {
		var err error
		if index, err = holderIndex(entry); err == nil {
			err = addHolders(index, known)
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: read copies of %s: %w", id, err)
		}
	}
	var shared *ldp.SharedBody
	for i, c := range cs {
		if c.EventID != id {
			return nil, fmt.Errorf("inbox: AppendAll of copies of %q and %q", id, c.EventID)
		}
		if id != "" && !c.NewEvent {
			var item string
			var ok bool
			var err error
			if index != nil {
				item, ok = index[c.Inbox]
			} else if item, ok, err = findHolder(entry, c.Inbox); err == nil && !ok {
				item, ok, err = findHolder(known, c.Inbox)
			}
			if err == nil && !ok && legacy {
				item, ok, err = legacyHolds(tx, c.Inbox, id)
			}
			if err != nil {
				return nil, fmt.Errorf("inbox: read %s: %w", c.Inbox, err)
			}
			if ok {
				// The event came again: its item is touched, so an item
				// stored before shared bodies gets its body shared now.
				if _, err := ldp.ShareBody(tx, item); err != nil && !errors.Is(err, ldp.ErrNotFound) {
					return nil, fmt.Errorf("inbox: convert %s: %w", item, err)
				}
				out[i] = Appended{Item: item}
				continue
			}
		}
		if !c.InboxExists {
			ok, err := ldp.Exists(tx, c.Inbox)
			if err != nil {
				return nil, fmt.Errorf("inbox: read %s: %w", c.Inbox, err)
			}
			if !ok {
				if err := ldp.EnsureContainer(tx, c.Inbox, now); errors.Is(err, ldp.ErrNotFound) {
					return nil, ErrNoInbox
				} else if err != nil {
					return nil, fmt.Errorf("inbox: recreate %s: %w", c.Inbox, err)
				}
			}
		}
		seq := tx.NextSeq()
		var p string
		var err error
		if c.Sender == nil {
			if c.Shared != nil {
				shared = c.Shared
			} else if shared == nil || !bytes.Equal(shared.Bytes(), c.Body) {
				if c.NewEvent {
					// The body holds the event's new id: stored nowhere yet.
					shared = ldp.NewFreshSharedBody(c.Body)
				} else {
					shared = ldp.NewSharedBody(c.Body)
				}
			}
			p, _, err = ldp.AppendSeqMemberShared(tx, c.Inbox, seq, ldp.MediaJSONLD, shared, ib.arrival(now))
		} else {
			p, _, err = ldp.AppendSeqMember(tx, c.Inbox, seq, cmp.Or(c.MediaType, ldp.MediaJSONLD), c.Body, ib.arrival(now))
		}
		if err != nil {
			return nil, err
		}
		if c.Sender != nil {
			b, err := json.Marshal(c.Sender)
			if err != nil {
				return nil, fmt.Errorf("inbox: sender of %s: %w", p, err)
			}
			if err := tx.Set(senderKey(p), b); err != nil {
				return nil, err
			}
		}
		if wk != nil {
			entry = appendHolder(entry, holder{inbox: c.Inbox, seq: seq})
			if index != nil {
				index[c.Inbox] = c.Inbox + ItemName(seq)
			}
			grew = true
		}
		out[i] = Appended{Item: p, Added: true}
	}
	if grew {
		if err := tx.Set(wk, entry); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Holder is an inbox holding a copy of an event, and the copy's item (which
// may have been deleted since).
type Holder struct {
	Inbox, Item string
}

// Holders returns the inboxes that received a copy of eventID, as the
// event's copies entry and its parts record them: in the order they
// received it within each (the entry's first, then the parts' in order). Copies stored
// before that entry existed are not listed; Holds finds them.
func Holders(rd store.Reader, eventID string) ([]Holder, error) {
	v, err := readCopies(rd, eventID)
	if err != nil {
		return nil, err
	}
	var out []Holder
	for len(v) > 0 {
		h, rest, err := nextHolder(v)
		if err != nil {
			return nil, err
		}
		out = append(out, Holder{Inbox: h.inbox, Item: h.inbox + ItemName(h.seq)})
		v = rest
	}
	return out, nil
}

// legacyHolds reads the per-inbox dedup key of older data.
func legacyHolds(rd store.Reader, inbox, eventID string) (string, bool, error) {
	v, err := rd.Get(legacyDedupKey(inbox, eventID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(v), true, nil
}

// Holds returns the path of inbox's item holding eventID, if any (the item
// may have been deleted since).
func Holds(rd store.Reader, inbox, eventID string) (string, bool, error) {
	v, err := readCopies(rd, eventID)
	if err != nil {
		return "", false, err
	}
	item, ok, err := findHolder(v, inbox)
	if err != nil || ok {
		return item, ok, err
	}
	return legacyHolds(rd, inbox, eventID)
}
