package httpsig

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryNonceCache(t *testing.T) {
	c := NewMemoryNonceCache(3)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		key      string
		now, exp int
		want     bool
		wantLen  int
		the      string
	}{
		{"a", 0, 10, true, 1, "new"},
		{"a", 5, 10, false, 1, "replay"},
		{"b", 5, 20, true, 2, "second"},
		{"a", 10, 30, true, 2, "a expired at 10, accepted again"},
		{"c", 11, 12, true, 3, "third"},
		{"d", 11, 40, true, 3, "full: c (closest to expiry) dropped"},
		{"c", 11, 12, true, 3, "c was dropped"},
		{"e", 11, 11, true, 3, "already expired: not stored"},
		{"e", 11, 50, true, 3, "so e is new; b dropped"},
		{"x", 100, 200, true, 1, "everything else expired"},
	}
	for _, s := range steps {
		if got, err := c.Add(context.Background(), s.key, at(s.now), at(s.exp)); err != nil || got != s.want {
			t.Fatalf("%s: Add(%s) = %v", s.the, s.key, got)
		}
		if n := c.Len(); n != s.wantLen {
			t.Fatalf("%s: Len = %d, want %d", s.the, n, s.wantLen)
		}
	}
}

func TestMemoryNonceCacheConcurrent(t *testing.T) {
	c := NewMemoryNonceCache(0)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				// Every goroutine tries the same 1000 keys.
				if ok, _ := c.Add(context.Background(), fmt.Sprint(i), t0, t0.Add(time.Minute)); ok {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1000 {
		t.Fatalf("accepted %d, want each key once", accepted.Load())
	}
}
