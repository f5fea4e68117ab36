package idp

import (
	"context"
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

// limited reports whether any of the counters reached its maximum
// (limits[i] for counters[i]) in its current window.
func (p *Provider) limited(ctx context.Context, now time.Time, counters [][]byte, limits []int) (bool, error) {
	blocked := false
	err := p.cfg.Store.View(ctx, func(r store.Reader) error {
		for i, k := range counters {
			var rec limitRecord
			ok, err := getJSON(r, k, &rec)
			if err != nil {
				return err
			}
			if ok && now.Sub(rec.Start) < p.cfg.LoginWindow && rec.N >= limits[i] {
				blocked = true
			}
		}
		return nil
	})
	return blocked, err
}

// countFailure adds a failure to each counter, in one transaction.
func (p *Provider) countFailure(ctx context.Context, now time.Time, counters ...[]byte) error {
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		for _, k := range counters {
			var rec limitRecord
			ok, err := getJSON(tx, k, &rec)
			if err != nil {
				return err
			}
			if !ok || now.Sub(rec.Start) >= p.cfg.LoginWindow {
				if ok {
					if err := unindex(tx, k, rec.Start.Add(p.cfg.LoginWindow)); err != nil {
						return err
					}
				}
				rec = limitRecord{Start: now}
				if err := expiring(tx, k, now.Add(p.cfg.LoginWindow)); err != nil {
					return err
				}
			}
			rec.N++
			if err := putJSON(tx, k, rec); err != nil {
				return err
			}
		}
		return nil
	})
}
