package idp

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"podserver/store"
)

// Failed-login counters live in the store ("I" "l"), so every node
// sharing it counts the same failures: n nodes do not give n times the
// budget. Only a failure writes; a login attempt reads its two counters
// (pod and client address). Each counter is a fixed window: it is
// indexed for deletion at the window's end (kindExpiry), so the store
// holds at most one record per pod name and per client address that
// failed in the last window. A client address can make at most
// 3·LoginAttempts failures per window before it is blocked, so it
// creates at most that many pod-name counters.
//
//	"I" "l" + "pod" + 0x00 + pod name -> limitRecord (JSON)
//	"I" "l" + "ip" + 0x00 + address   -> limitRecord (JSON)
const kindLimit = 'l'

// limitRecord is a failure counter's window.
type limitRecord struct {
	N     int       `json:"n"`
	Start time.Time `json:"start"`
}

// podCounter and ipCounter are the keys of the counters of a login. A
// pod name longer than any pod's (the form allows 8 KiB) is counted by
// its hash, so keys stay small.
func podCounter(pod string) []byte {
	if len(pod) > 256 {
		pod = "#" + hashed(pod)
	}
	return key(kindLimit, "pod", pod)
}

func ipCounter(ip string) []byte { return key(kindLimit, "ip", addrKey(ip)) }

// addrKey is the address a client is counted by: an IPv6 address by its
// /64 (one host usually has the whole prefix), others as they are.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		pfx, err := a.WithZone("").Prefix(64)
		if err == nil {
			return pfx.String()
		}
	}
	return a.String()
}

// reserveAttempt counts a login attempt against each counter, in one
// transaction with the check, unless one of them reached its maximum
// (limits[i] for counters[i]) in its current window: then it reports
// blocked and counts nothing. Counting before the password is checked,
// and in the check's transaction, is what bounds simultaneous attempts:
// 300 at once used to all pass a check made before any failure was
// counted. A successful login gives its attempt back (refundAttempt).
func (p *Provider) reserveAttempt(ctx context.Context, now time.Time, counters [][]byte, limits []int) (blocked bool, err error) {
	err = p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		blocked = false
		recs := make([]limitRecord, len(counters))
		for i, k := range counters {
			ok, err := getJSON(tx, k, &recs[i])
			if err != nil {
				return err
			}
			if !ok || now.Sub(recs[i].Start) >= p.cfg.LoginWindow {
				if ok {
					if err := unindex(tx, k, recs[i].Start.Add(p.cfg.LoginWindow)); err != nil {
						return err
					}
				}
				recs[i] = limitRecord{Start: now}
				if err := expiring(tx, k, now.Add(p.cfg.LoginWindow)); err != nil {
					return err
				}
			}
			if recs[i].N >= limits[i] {
				blocked = true
			}
		}
		if blocked {
			return errBlocked
		}
		for i, k := range counters {
			recs[i].N++
			if err := putJSON(tx, k, recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errBlocked) {
		return true, nil
	}
	return false, err
}

// errBlocked rolls back reserveAttempt's transaction when a counter is
// at its maximum.
var errBlocked = errors.New("idp: login attempts at their limit")

// refundAttempt takes back an attempt reserveAttempt counted, for a login
// that succeeded (or could not be checked): only failures stay counted.
// A failure to refund is logged; the attempt then stays counted.
func (p *Provider) refundAttempt(ctx context.Context, now time.Time, counters [][]byte) {
	err := p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		for _, k := range counters {
			var rec limitRecord
			ok, err := getJSON(tx, k, &rec)
			if err != nil {
				return err
			}
			if !ok || rec.N == 0 || now.Sub(rec.Start) >= p.cfg.LoginWindow {
				continue
			}
			rec.N--
			if err := putJSON(tx, k, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		p.log.ErrorContext(ctx, "idp: give back a login attempt", "err", err)
	}
}
