package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// openMem opens an in-memory store closed at the end of the test.
func openMem(t testing.TB, opts Options) *Badger {
	t.Helper()
	opts.InMemory = true
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// collect returns the pairs a scan yields, as "key=value" strings.
func collect(r Reader, prefix, start []byte, reverse bool) ([]string, error) {
	var got []string
	err := r.Scan(prefix, start, reverse, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	})
	return got, err
}

// model is the reference implementation: a plain map, scanned by sorting.
type model map[string]string

func (m model) scan(prefix, start []byte, reverse bool) []string {
	var keys []string
	for k := range m {
		switch {
		case !strings.HasPrefix(k, string(prefix)):
		case start != nil && !reverse && k < string(start):
		case start != nil && reverse && k > string(start):
		default:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}

var scanKeys = []string{
	"a", "a\x00", "a1", "a2", "a\xff", "a\xff\xff", "b", "b1", "\xff", "\xff\xff",
}

func val(k string) string { return "v:" + k }

// scanCases covers prefix ends that exist as keys ("b" after prefix "a"),
// prefixes without an end (empty, 0xff), and starts inside, before, after
// and between keys of the range.
var scanCases = []struct {
	prefix, start string
	hasStart      bool
	reverse       bool
	want          []string
}{
	{prefix: "a", want: []string{"a", "a\x00", "a1", "a2", "a\xff", "a\xff\xff"}},
	{prefix: "a", reverse: true, want: []string{"a\xff\xff", "a\xff", "a2", "a1", "a\x00", "a"}},
	{prefix: "a", start: "a1", hasStart: true, want: []string{"a1", "a2", "a\xff", "a\xff\xff"}},
	{prefix: "a", start: "a1", hasStart: true, reverse: true, want: []string{"a1", "a\x00", "a"}},
	{prefix: "a", start: "a15", hasStart: true, want: []string{"a2", "a\xff", "a\xff\xff"}},
	{prefix: "a", start: "a15", hasStart: true, reverse: true, want: []string{"a1", "a\x00", "a"}},
	{prefix: "a", start: "b", hasStart: true, reverse: true, want: []string{"a\xff\xff", "a\xff", "a2", "a1", "a\x00", "a"}},
	{prefix: "a", start: "b", hasStart: true},
	{prefix: "a", start: "0", hasStart: true, want: []string{"a", "a\x00", "a1", "a2", "a\xff", "a\xff\xff"}},
	{prefix: "a", start: "0", hasStart: true, reverse: true},
	{prefix: "a", start: "", hasStart: true, reverse: true},
	{prefix: "a\xff", reverse: true, want: []string{"a\xff\xff", "a\xff"}},
	{prefix: "b", reverse: true, want: []string{"b1", "b"}},
	{prefix: "c"},
	{prefix: "c", reverse: true},
	{prefix: "\xff", want: []string{"\xff", "\xff\xff"}},
	{prefix: "\xff", reverse: true, want: []string{"\xff\xff", "\xff"}},
	{prefix: "\xff", start: "\xff", hasStart: true, reverse: true, want: []string{"\xff"}},
	{prefix: "", want: scanKeys},
	{prefix: "", reverse: true, want: []string{"\xff\xff", "\xff", "b1", "b", "a\xff\xff", "a\xff", "a2", "a1", "a\x00", "a"}},
	{prefix: "", start: "a\xff", hasStart: true, reverse: true, want: []string{"a\xff", "a2", "a1", "a\x00", "a"}},
}

// TestScan runs scanCases against the committed state (View and Update) and
// against states where part or all of the data is buffered in the Update's
// own writes, with deletions hiding committed keys.
func TestScan(t *testing.T) {
	ctx := context.Background()
	setups := []struct {
		name      string
		committed func(k string, i int) bool // keys committed before the Update
		view      bool
	}{
		{"view", func(string, int) bool { return true }, true},
		{"update/committed", func(string, int) bool { return true }, false},
		{"update/buffered", func(string, int) bool { return false }, false},
		{"update/mixed", func(_ string, i int) bool { return i%2 == 0 }, false},
	}
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			s := openMem(t, Options{})
			err := s.Update(ctx, func(tx Txn) error {
				for i, k := range scanKeys {
					if su.committed(k, i) {
						noErr(t, tx.Set([]byte(k), []byte(val(k))))
					} else {
						// Committed with a stale value, or committed and
						// then deleted in the Update under test.
						noErr(t, tx.Set([]byte(k), []byte("stale")))
					}
				}
				if !su.view {
					noErr(t, tx.Set([]byte("a0"), []byte("deleted later")))
				}
				return nil
			})
			must(t, err)
			check := func(t *testing.T, r Reader) {
				for _, c := range scanCases {
					var start []byte
					if c.hasStart {
						start = []byte(c.start)
					}
					want := make([]string, 0, len(c.want))
					for _, k := range c.want {
						want = append(want, k+"="+val(k))
					}
					got, err := collect(r, []byte(c.prefix), start, c.reverse)
					if err != nil || !slices.Equal(got, want) {
						t.Errorf("Scan(%q, start %q/%v, reverse %v) = %q, %v; want %q",
							c.prefix, c.start, c.hasStart, c.reverse, got, err, want)
					}
				}
			}
			if su.view {
				must(t, s.View(ctx, func(r Reader) error { check(t, r); return nil }))
				return
			}
			err = s.Update(ctx, func(tx Txn) error {
				noErr(t, tx.Delete([]byte("a0")))
				noErr(t, tx.Set([]byte("a3"), []byte("x"))) // set, then deleted
				noErr(t, tx.Delete([]byte("a3")))
				noErr(t, tx.Delete([]byte("zz"))) // absent key
				for i, k := range scanKeys {
					if !su.committed(k, i) {
						noErr(t, tx.Set([]byte(k), []byte(val(k))))
					}
				}
				check(t, tx)
				return nil
			})
			must(t, err)
			// What the Update saw is what it committed.
			must(t, s.View(ctx, func(r Reader) error { check(t, r); return nil }))
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// noErr is must for use inside Update functions: they run on the writer
// goroutine, where t.Fatal would stop the writer.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

func TestGetSetDelete(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, Options{})
	must(t, s.Update(ctx, func(tx Txn) error {
		noErr(t, tx.Set([]byte("k1"), []byte("v1")))
		noErr(t, tx.Set([]byte("k2"), []byte("v2")))
		noErr(t, tx.Set([]byte("empty"), nil))
		return nil
	}))
	buf := []byte("v3")
	must(t, s.Update(ctx, func(tx Txn) error {
		noErr(t, tx.Delete([]byte("k1")))
		noErr(t, tx.Set([]byte("k3"), buf))
		buf[0] = 'X' // the store keeps its own copy
		noErr(t, tx.Delete([]byte("absent")))
		for _, c := range []struct {
			key, want string
			err       error
		}{
			{"k1", "", ErrNotFound}, {"k2", "v2", nil}, {"k3", "v3", nil},
			{"empty", "", nil}, {"absent", "", ErrNotFound},
		} {
			got, err := tx.Get([]byte(c.key))
			if !errors.Is(err, c.err) || string(got) != c.want {
				t.Errorf("in Update: Get(%q) = %q, %v; want %q, %v", c.key, got, err, c.want, c.err)
			}
		}
		got, _ := tx.Get([]byte("k3"))
		got[0] = 'Y' // Get returns a copy
		return nil
	}))
	must(t, s.View(ctx, func(r Reader) error {
		for _, c := range []struct {
			key, want string
			err       error
		}{
			{"k1", "", ErrNotFound}, {"k2", "v2", nil}, {"k3", "v3", nil},
			{"empty", "", nil}, {"absent", "", ErrNotFound}, {"", "", ErrNotFound},
		} {
			got, err := r.Get([]byte(c.key))
			if !errors.Is(err, c.err) || string(got) != c.want {
				t.Errorf("in View: Get(%q) = %q, %v; want %q, %v", c.key, got, err, c.want, c.err)
			}
		}
		return nil
	}))
	// Invalid keys fail at Set, in the function that wrote them.
	for _, key := range [][]byte{nil, make([]byte, maxKeySize+1), []byte("!badger!x")} {
		err := s.Update(ctx, func(tx Txn) error { return tx.Set(key, []byte("v")) })
		if err == nil {
			t.Errorf("Set(key of %d bytes) succeeded", len(key))
		}
	}
}

func TestScanStopAndErrors(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, Options{})
	must(t, s.Update(ctx, func(tx Txn) error {
		for _, k := range []string{"p1", "p3", "p5"} {
			noErr(t, tx.Set([]byte(k), []byte(val(k))))
		}
		return nil
	}))
	errBoom := errors.New("boom")
	check := func(t *testing.T, r Reader) {
		for _, reverse := range []bool{false, true} {
			var n int
			err := r.Scan([]byte("p"), nil, reverse, func(k, v []byte) error {
				n++
				return ErrStop
			})
			if err != nil || n != 1 {
				t.Errorf("reverse %v: ErrStop: Scan = %v after %d keys; want nil after 1", reverse, err, n)
			}
			n = 0
			err = r.Scan([]byte("p"), nil, reverse, func(k, v []byte) error {
				if n++; n == 2 {
					return fmt.Errorf("wrapped: %w", errBoom)
				}
				return nil
			})
			if !errors.Is(err, errBoom) || n != 2 {
				t.Errorf("reverse %v: Scan = %v after %d keys; want boom after 2", reverse, err, n)
			}
		}
	}
	must(t, s.View(ctx, func(r Reader) error { check(t, r); return nil }))
	must(t, s.Update(ctx, func(tx Txn) error {
		// Buffered keys before, between and after the committed ones, so
		// the stop can happen on either side of the merge.
		for _, k := range []string{"p0", "p2", "p4", "p6"} {
			noErr(t, tx.Set([]byte(k), []byte(val(k))))
		}
		check(t, tx)
		return nil
	}))
}

// TestScanNested checks that scans nest and that writes made during a scan
// are allowed (Badger would panic on two iterators of one update txn).
func TestScanNested(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, Options{})
	must(t, s.Update(ctx, func(tx Txn) error {
		for _, k := range []string{"a1", "a2", "b1"} {
			noErr(t, tx.Set([]byte(k), []byte(val(k))))
		}
		return nil
	}))
	must(t, s.Update(ctx, func(tx Txn) error {
		noErr(t, tx.Set([]byte("a3"), []byte(val("a3"))))
		var pairs []string
		err := tx.Scan([]byte("a"), nil, false, func(k, _ []byte) error {
			outer := string(k)
			return tx.Scan([]byte("b"), nil, true, func(k, _ []byte) error {
				pairs = append(pairs, outer+"/"+string(k))
				return tx.Set([]byte("c"+outer), []byte("x"))
			})
		})
		noErr(t, err)
		if want := []string{"a1/b1", "a2/b1", "a3/b1"}; !slices.Equal(pairs, want) {
			t.Errorf("nested scan = %q; want %q", pairs, want)
		}
		got, err := collect(tx, []byte("c"), nil, false)
		if want := []string{"ca1=x", "ca2=x", "ca3=x"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("keys written during scan = %q, %v; want %q", got, err, want)
		}
		return nil
	}))
}

// TestOverlayRandom compares Get and Scan inside batched Updates with the
// model, over random writes to a small keyspace full of prefix edge cases.
// Functions of one batch build on each other's writes; some fail, and their
// writes must vanish.
func TestOverlayRandom(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 'a', 'b', 0xff}
	randKey := func(minLen int) []byte {
		k := make([]byte, minLen+rng.IntN(3-minLen+1))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	s := openMem(t, Options{})
	m := model{} // committed state; touched only by functions on the writer goroutine
	errFail := errors.New("deliberate failure")

	fn := func(tx Txn) error {
		local := maps.Clone(m)
		for range 20 {
			switch op := rng.IntN(10); {
			case op < 4:
				k, v := randKey(1), fmt.Sprint(rng.IntN(1000))
				noErr(t, tx.Set(k, []byte(v)))
				local[string(k)] = v
			case op < 6:
				k := randKey(1)
				noErr(t, tx.Delete(k))
				delete(local, string(k))
			case op < 7:
				k := randKey(1)
				got, err := tx.Get(k)
				want, ok := local[string(k)]
				if ok != (err == nil) || string(got) != want {
					t.Errorf("Get(%q) = %q, %v; want %q, %v", k, got, err, want, ok)
				}
			default:
				prefix := randKey(0)
				var start []byte
				if rng.IntN(2) == 0 {
					start = randKey(0)
				}
				reverse := rng.IntN(2) == 0
				got, err := collect(tx, prefix, start, reverse)
				if want := local.scan(prefix, start, reverse); err != nil || !slices.Equal(got, want) {
					t.Errorf("Scan(%q, %q, %v) = %q, %v; want %q", prefix, start, reverse, got, err, want)
				}
			}
		}
		if rng.IntN(4) == 0 {
			return errFail
		}
		m = local
		return nil
	}
	for round := range 20 {
		// Hold the writer so that the next functions form one batch.
		release := holdWriter(t, s)
		errs := make(chan error, 20)
		for range 20 {
			go func() { errs <- s.Update(ctx, fn) }()
		}
		waitQueued(t, s, 20)
		close(release)
		for range 20 {
			if err := <-errs; err != nil && !errors.Is(err, errFail) {
				t.Fatalf("round %d: Update: %v", round, err)
			}
		}
		must(t, s.View(ctx, func(r Reader) error {
			got, err := collect(r, nil, nil, false)
			if want := m.scan(nil, nil, false); err != nil || !slices.Equal(got, want) {
				t.Fatalf("round %d: committed state = %q, %v; want %q", round, got, err, want)
			}
			return nil
		}))
	}
}
