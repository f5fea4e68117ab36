package idp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"podserver/solidoidc"
	"podserver/store"
)

// The expiry index: "I" "x" + uint64 big-endian Unix nanoseconds + key
// -> "". Each record that stops mattering at a known time (auth
// requests, codes, access-token records, refresh tokens, revoked
// families, cuts, failed-login counters) has exactly one index entry,
// written in the same transaction as the record; a rewrite that changes
// the time moves it, a delete removes it. Sweep reads the index from its
// start, so a pass costs what it deletes, never a scan of live records.
const kindExpiry = 'x'

// skew is the clock skew the resource server allows on exp
// (solidoidc.DefaultClockSkew): a token's record is kept that much past
// its exp, so a token still accepted on exp gets the right answer.
const skew = solidoidc.DefaultClockSkew

// sweepBatch bounds the records one sweep transaction deletes.
const sweepBatch = 256

// expiryKey is the index entry deleting k at at.
func expiryKey(at time.Time, k []byte) []byte {
	b := make([]byte, 0, 10+len(k))
	b = append(b, Prefix[0], kindExpiry)
	b = binary.BigEndian.AppendUint64(b, uint64(max(at.UnixNano(), 0)))
	return append(b, k...)
}

// expiring indexes k for deletion at at.
func expiring(tx store.Txn, k []byte, at time.Time) error {
	return tx.Set(expiryKey(at, k), nil)
}

// unindex removes the index entry deleting k at at.
func unindex(tx store.Txn, k []byte, at time.Time) error {
	return tx.Delete(expiryKey(at, k))
}

// deleteExpiring deletes k and its index entry (at).
func deleteExpiring(tx store.Txn, k []byte, at time.Time) error {
	if err := unindex(tx, k, at); err != nil {
		return err
	}
	return tx.Delete(k)
}

// Sweep deletes the records whose time has come (see kindExpiry), in
// transactions of at most sweepBatch index entries, and returns how many
// it deleted. The index entry is a hint; the record says when it is due
// (dueAt), so an entry a rewrite left behind never deletes a live record. Nodes sweeping the same store at once are harmless: each
// transaction is serializable and deleting an absent key is no error.
func (p *Provider) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, entries, err := p.sweepBatch(ctx)
		total += n
		p.met.swept.Add(float64(n))
		if err != nil || entries < sweepBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// sweepBatch handles up to sweepBatch due index entries and returns how
// many records it deleted and how many entries it handled.
func (p *Provider) sweepBatch(ctx context.Context) (int, int, error) {
	now := uint64(max(p.now().UnixNano(), 0))
	prefix := []byte{Prefix[0], kindExpiry}
	var n, swept int
	err := p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var due [][]byte
		err := tx.Scan(prefix, nil, false, func(k, _ []byte) error {
			if len(k) < 10 || binary.BigEndian.Uint64(k[2:10]) > now {
				return store.ErrStop
			}
			due = append(due, bytes.Clone(k))
			if len(due) == sweepBatch {
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
		n = 0
		for _, ik := range due {
			if err := tx.Delete(ik); err != nil {
				return err
			}
			k := ik[10:]
			v, err := tx.Get(k)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted before (a revoked token, a finished auth request)
			}
			if err != nil {
				return err
			}
			// The record decides: one rewritten with a later time (a
			// new cut, a new counter window, a changed lifetime) is
			// indexed again at that time and kept.
			at, ok := p.dueAt(k, v)
			if !ok {
				p.log.WarnContext(ctx, "idp: expiring record unreadable; kept", "kind", string(k[1:2]))
				continue
			}
			if at.UnixNano() > int64(now) {
				if err := expiring(tx, k, at); err != nil {
					return err
				}
				continue
			}
			if err := tx.Delete(k); err != nil {
				return err
			}
			n++
		}
		swept = len(due)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return n, swept, nil
}

// dueAt returns when the record k (value v) stops mattering, or false
// when it cannot be read.
func (p *Provider) dueAt(k, v []byte) (time.Time, bool) {
	var exp struct {
		Expires time.Time `json:"exp"`
		Start   time.Time `json:"start"`
	}
	switch k[1] {
	case kindAuth, kindCode, kindRefresh:
		if json.Unmarshal(v, &exp) != nil {
			return time.Time{}, false
		}
		return exp.Expires, true
	case kindToken:
		if json.Unmarshal(v, &exp) != nil {
			return time.Time{}, false
		}
		return exp.Expires.Add(skew), true
	case kindLimit:
		if json.Unmarshal(v, &exp) != nil {
			return time.Time{}, false
		}
		return exp.Start.Add(p.cfg.LoginWindow), true
	case kindFamily, kindCut:
		var t time.Time
		if t.UnmarshalText(v) != nil {
			return time.Time{}, false
		}
		return t.Add(p.cfg.maxGrantLifetime()), true
	}
	return time.Time{}, false
}

// RunSweeper sweeps (Sweep) now and then every Config.SweepInterval
// until ctx is done. A failed pass is logged and tried again at the next
// tick.
func (p *Provider) RunSweeper(ctx context.Context) {
	t := time.NewTicker(p.cfg.SweepInterval)
	defer t.Stop()
	for {
		if n, err := p.Sweep(ctx); err != nil && !errors.Is(err, context.Canceled) {
			p.log.WarnContext(ctx, "idp: sweep of expired records failed", "err", err, "deleted", n)
		} else if n > 0 {
			p.log.DebugContext(ctx, "idp: expired records deleted", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
