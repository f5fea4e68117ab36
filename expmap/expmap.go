// Package expmap holds the eviction rule of podserver's bounded caches
// whose entries expire (WebID profiles, OpenID issuers' keys): to make
// room for a new key, first drop every expired entry, then the entries
// closest to expiry. It is one function so that each cache keeps its own
// map, lock and fetching.
//
// This package imports no other podserver package.
package expmap

import "time"

// MakeRoom removes entries from m, when key is not in it and m holds max
// entries or more, until a new entry fits within max: first those expired
// at now, then those that expire soonest. expires reads an entry's expiry.
// m's lock, if any, must be held.
func MakeRoom[K comparable, V any](m map[K]V, key K, max int, now time.Time, expires func(V) time.Time) {
	if _, ok := m[key]; ok || len(m) < max {
		return
	}
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
	for len(m) >= max && len(m) > 0 {
		var oldest K
		var at time.Time
		first := true
		for k, v := range m {
			if e := expires(v); first || e.Before(at) {
				oldest, at, first = k, e, false
			}
		}
		delete(m, oldest)
	}
}
