package deliver

// Parking: the due records of a full lane leave the due order, so that a
// slow target's backlog never stands between the scanner and the records
// of other targets.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"podserver/store"
)

// parkedSpace is the prefix of the parked queue entries:
//
//	store.PrefixDelivery + 0xff + lane + 0x00 + at (8) + seq (8) -> the entry
//
// "at" and seq are those of the entry's key in the due order (its due time,
// as parking takes no leased entry). The parked ranges sort after every
// due-order key (whose time's first byte is 0 for millions of years), so
// that everything that reads the whole queue (counts, reclaim, a pod's
// purge) reads them too, and a scan of the due order stops at them.
const parkedSpace = store.PrefixDelivery + "\xff"

// isParked reports whether queue key k is a parked entry's.
func isParked(k []byte) bool {
	return len(k) > len(parkedSpace) && k[len(store.PrefixDelivery)] == 0xff
}

// parkPrefix returns the prefix of lane's parked entries.
func parkPrefix(lane string) []byte {
	k := make([]byte, 0, len(parkedSpace)+len(lane)+17)
	k = append(k, parkedSpace...)
	k = append(k, lane...)
	return append(k, 0)
}

// parkKey returns the key that parks the entry at due-order key k in lane.
func parkKey(lane string, k []byte) []byte {
	return append(parkPrefix(lane), k[len(store.PrefixDelivery):]...)
}

// parkedLane returns the lane of parked key k.
func parkedLane(k []byte) string { return string(k[len(parkedSpace) : len(k)-17]) }

// park moves the due entries of full lanes out of the due order, each
// where the scan read it as it was (else the entry changed meanwhile and
// the next scan sees it anew). A failure is logged: the entries stay, for
// a later scan.
func (q *Queue) park(items []parking) {
	for len(items) > 0 {
		batch := items[:min(len(items), parkBatch)]
		items = items[len(batch):]
		err := q.cfg.Store.Update(context.Background(), func(tx store.Txn) error {
			for _, p := range batch {
				v, err := tx.Get(p.key)
				switch {
				case errors.Is(err, store.ErrNotFound):
					continue
				case err != nil:
					return err
				case !bytes.Equal(v, p.value):
					continue
				}
				if err := tx.Delete(p.key); err != nil {
					return err
				}
				if err := tx.Set(parkKey(p.lane, p.key), p.value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			q.cfg.Logger.Error("deliver: park the records of a full lane", "err", err)
			return
		}
		q.dmu.Lock()
		for _, p := range batch {
			q.parked[p.lane] = true
		}
		q.dmu.Unlock()
	}
}

// unpark claims the parked records of every lane with parked ones that
// has room, oldest first, and forgets the lanes that have none left.
func (q *Queue) unpark(now time.Time) {
	q.dmu.Lock()
	var names []string
	for name := range q.parked {
		if !q.laneFull(name) {
			names = append(names, name)
		}
	}
	q.dmu.Unlock()
	for _, name := range names {
		empty := true
		err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan(parkPrefix(name), nil, false, func(k, v []byte) error {
				empty = false
				q.dmu.Lock()
				_, claimed := q.claimed[store.Uint64(k[len(k)-8:])]
				q.dmu.Unlock()
				if claimed {
					return nil
				}
				r, err := decodeEntry(v)
				if err != nil {
					q.cfg.Logger.Error("deliver: skipping corrupt queue entry", "key", fmt.Sprintf("%x", k), "err", err)
					return nil
				}
				if r.hold.Node != "" && r.hold.Until.After(now) {
					return nil
				}
				r.parked = bytes.Clone(k)
				if !q.admit(r) {
					return store.ErrStop
				}
				return nil
			})
		})
		if err != nil {
			q.cfg.Logger.Error("deliver: scan parked records", "lane", name, "err", err)
			continue
		}
		if empty {
			q.dmu.Lock()
			delete(q.parked, name)
			q.dmu.Unlock()
		}
	}
}

// findParked learns the lanes that have parked records in the store
// (parked by another node, or before a restart), a seek for each.
func (q *Queue) findParked() {
	start := []byte(parkedSpace)
	for range maxParkedLanes {
		var name string
		found := false
		err := q.cfg.Store.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan([]byte(parkedSpace), start, false, func(k, _ []byte) error {
				if len(k) >= len(parkedSpace)+17 {
					name, found = parkedLane(k), true
				}
				return store.ErrStop
			})
		})
		if err != nil {
			q.cfg.Logger.Error("deliver: look for parked records", "err", err)
			return
		}
		if !found {
			return
		}
		q.dmu.Lock()
		q.parked[name] = true
		q.dmu.Unlock()
		// Past every key of the lane (whose name holds no 0x00).
		start = parkPrefix(name)
		start[len(start)-1] = 1
	}
}
