package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWriteSetKeysInBetweenPuts checks the incremental sort: scans between
// puts (new keys, rewrites of old ones) see exactly the keys in range, in
// order, and a slice returned earlier is not changed by later puts.
func TestWriteSetKeysInBetweenPuts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ws := newWriteSet()
	var all []string
	for i := range 3000 {
		k := fmt.Sprintf("k%04d", rng.IntN(2000))
		if !slices.Contains(all, k) {
			all = append(all, k)
		}
		ws.put(k, write{val: []byte{byte(i)}})
		if rng.IntN(4) != 0 {
			continue
		}
		lo := fmt.Sprintf("k%04d", rng.IntN(2000))
		hi := fmt.Sprintf("k%04d", rng.IntN(2000))
		got := ws.keysIn([]byte(lo), []byte(hi))
		snapshot := slices.Clone(got)
		var want []string
		for _, k := range all {
			if k >= lo && k < hi {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("put %d: keysIn(%s, %s) = %d keys, want %d", i, lo, hi, len(got), len(want))
		}
		d := fmt.Sprintf("k%04d", rng.IntN(2000)) // a deletion is a write too
		if !slices.Contains(all, d) {
			all = append(all, d)
		}
		ws.put(d, write{del: true})
		if !slices.Equal(got, snapshot) {
			t.Fatalf("put %d: a put changed a slice keysIn returned before", i)
		}
	}
	if got := ws.keysIn([]byte(""), nil); len(got) != len(ws.m) || !slices.IsSorted(got) {
		t.Fatalf("all keys: %d sorted=%v, want %d sorted", len(got), slices.IsSorted(got), len(ws.m))
	}
}

// BenchmarkWriteSetScanBetweenPuts is the writer's pattern in a fan-out
// batch: a scan after each few puts into a growing write set.
func BenchmarkWriteSetScanBetweenPuts(b *testing.B) {
	for b.Loop() {
		ws := newWriteSet()
		for i := range 2048 {
			ws.put(fmt.Sprintf("r/pod%05d/inbox/%016x", i*7919%2048, i), write{val: []byte("x")})
			if i%8 == 0 {
				ws.keysIn([]byte("F"), []byte("G"))
			}
		}
	}
}
