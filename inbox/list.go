package inbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// Item is one stored copy.
type Item struct {
	// Path is the item's storage path.
	Path string
	// Seq is the item's position (its name is ItemName(Seq)).
	Seq uint64
	// Arrived is when the copy was stored in this inbox.
	Arrived time.Time
	// Body is the stored JSON object.
	Body []byte
	// Sender is who delivered an item stored as sent; nil for items the
	// server wrote whole (published copies, and items stored before items
	// were stored as sent, whose bodies hold agent and instrument).
	Sender *Sender
	// MediaType is the media type the body is stored in: application/ld+json,
	// or an RDF text format a notification was sent in (see AcceptPost).
	MediaType string
	// OwnACL is true when the item has an ACL document of its own: who
	// may read it is not decided by the inbox's acl:default.
	OwnACL bool
}

// Page is a part of an inbox listing.
type Page struct {
	Items []Item
	// Next is the cursor after the last item of the page (or the cursor the
	// page started at, when it is empty): listing from it returns what came
	// after this page, now or later.
	Next uint64
	// More is true when items after this page exist already.
	More bool
}

// List returns up to limit items of inbox in arrival order, starting at the
// item with sequence number from (the first item when from is 0). Bodies are
// copies, valid after rd is gone.
func List(rd store.Reader, inbox string, from uint64, limit int) (Page, error) {
	pg := Page{Next: from, Items: make([]Item, 0, min(limit, 64))}
	start := ""
	if from > 0 {
		start = ItemName(from)
	}
	isItem := func(p string) bool {
		_, ok := ParseItemName(p[len(inbox):])
		return ok // items the server did not name are not listed
	}
	children, more, err := ldp.ReadChildren(rd, inbox, start, limit, isItem)
	for _, ch := range children {
		seq, _ := ParseItemName(ch.Path[len(inbox):])
		pg.Items = append(pg.Items, Item{Path: ch.Path, Seq: seq, Arrived: ch.Meta.Created, Body: ch.Body, MediaType: ch.Meta.ContentType, OwnACL: ch.OwnACL})
		pg.Next = seq + 1
	}
	pg.More = more
	if err != nil || len(pg.Items) == 0 {
		return pg, err
	}
	return pg, readSenders(rd, inbox, pg.Items)
}

// readSenders sets the Sender of the items that have one, with one scan
// over the inbox's sender keys from the first item to the last (the keys
// sort as the items do).
func readSenders(rd store.Reader, inbox string, items []Item) error {
	at := make(map[string]int, len(items))
	for i, it := range items {
		at[it.Path] = i
	}
	last := senderKey(items[len(items)-1].Path)
	return rd.Scan(senderKey(inbox), senderKey(items[0].Path), false, func(k, v []byte) error {
		if bytes.Compare(k, last) > 0 {
			return store.ErrStop
		}
		i, ok := at[string(k[len(store.PrefixItemSender):])]
		if !ok {
			return nil
		}
		var s Sender
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("inbox: sender of %s: %w", items[i].Path, err)
		}
		items[i].Sender = &s
		return nil
	})
}

// first returns the first item at or after seq, if any (without its body).
func first(rd store.Reader, inbox string, seq uint64) (Item, bool, error) {
	var it Item
	found := false
	err := ldp.ScanChildrenMeta(rd, inbox, ItemName(seq), func(p string, m ldp.Meta) error {
		s, ok := ParseItemName(p[len(inbox):])
		if !ok {
			return nil
		}
		it, found = Item{Path: p, Seq: s, Arrived: m.Created}, true
		return store.ErrStop
	})
	return it, found, err
}

// CursorAt returns the cursor of the first item of inbox that arrived at or
// after t (a cursor past every current item when none did). Arrival times
// do not decrease in sequence order, so this is a binary search over
// sequence numbers: some 64 short scans at most, whatever the inbox holds.
func CursorAt(rd store.Reader, inbox string, t time.Time) (uint64, error) {
	lo, hi := uint64(1), uint64(1)<<63
	for lo < hi {
		mid := lo + (hi-lo)/2
		it, ok, err := first(rd, inbox, mid)
		if err != nil {
			return 0, err
		}
		if !ok || !it.Arrived.Before(t) {
			hi = mid
		} else {
			lo = it.Seq + 1
		}
	}
	return lo, nil
}
