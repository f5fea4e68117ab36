package inbox

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// ErrNoInbox is returned by Append when the inbox's pod does not exist.
var ErrNoInbox = errors.New("inbox: no such pod")

// itemNameLen is the length of an item name: a sequence number in hex.
const itemNameLen = 16

// ItemName returns the name of the item stored with sequence number seq.
func ItemName(seq uint64) string {
	const hexDigits = "0123456789abcdef"
	var b [itemNameLen]byte
	for i := itemNameLen - 1; i >= 0; i-- {
		b[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
	return string(b[:])
}

// ParseItemName returns the sequence number an item name encodes.
func ParseItemName(name string) (uint64, bool) {
	if len(name) != itemNameLen {
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

// Path returns the storage path of pod's inbox.
func Path(pod string) string { return ldp.StoragePath(pod, "inbox/") }

// dedupKey is the key that records which item of inbox holds eventID.
func dedupKey(inbox, eventID string) []byte {
	k := make([]byte, 0, len(store.PrefixInboxDedup)+len(inbox)+1+len(eventID))
	k = append(k, store.PrefixInboxDedup...)
	k = append(k, inbox...)
	k = append(k, 0)
	return append(k, eventID...)
}

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

// Copy is one event copy to store in an inbox.
type Copy struct {
	// Inbox is the inbox's storage path.
	Inbox string
	// EventID is the event's id (its URL); "" is never a duplicate.
	EventID string
	// Body is the JSON object to store (as application/ld+json).
	Body []byte
	// NewEvent says the event id is new to every inbox: the event was
	// stored in this same transaction under an id the server made, so the
	// dedup entry is written without being looked up first.
	NewEvent bool
	// InboxExists says the caller knows the inbox container exists (a
	// pod's inbox/ cannot be deleted), so it is not looked up.
	InboxExists bool
}

// Append stores c as a new item of its inbox, unless the inbox already
// holds a copy of c.EventID; it then returns the existing item's path and
// added false. A missing inbox container is created again (unless
// c.InboxExists); a missing pod gives ErrNoInbox. Waiting readers are woken
// once tx is durable.
func (ib *Inboxes) Append(tx store.Txn, c Copy, now time.Time) (item string, added bool, err error) {
	var dk []byte
	if c.EventID != "" {
		dk = dedupKey(c.Inbox, c.EventID)
		if !c.NewEvent {
			v, err := tx.Get(dk)
			if err == nil {
				return string(v), false, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return "", false, fmt.Errorf("inbox: read %s: %w", c.Inbox, err)
			}
		}
	}
	if !c.InboxExists {
		ok, err := ldp.Exists(tx, c.Inbox)
		if err != nil {
			return "", false, fmt.Errorf("inbox: read %s: %w", c.Inbox, err)
		}
		if !ok {
			if err := ldp.EnsureContainer(tx, c.Inbox, now); errors.Is(err, ldp.ErrNotFound) {
				return "", false, ErrNoInbox
			} else if err != nil {
				return "", false, fmt.Errorf("inbox: recreate %s: %w", c.Inbox, err)
			}
		}
	}
	seq := tx.NextSeq()
	p, _, err := ldp.AppendMember(tx, c.Inbox, ItemName(seq), seq, ldp.MediaJSONLD, c.Body, ib.arrival(now))
	if err != nil {
		return "", false, err
	}
	if dk != nil {
		if err := tx.Set(dk, []byte(p)); err != nil {
			return "", false, err
		}
	}
	inbox := c.Inbox
	tx.OnCommit(func() { ib.notify.Notify(inbox) })
	return p, true, nil
}

// Holds returns the path of inbox's item holding eventID, if any (the item
// may have been deleted since).
func Holds(rd store.Reader, inbox, eventID string) (string, bool, error) {
	v, err := rd.Get(dedupKey(inbox, eventID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(v), true, nil
}
