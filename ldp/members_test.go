package ldp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"podserver/store"
)

func TestSeqName(t *testing.T) {
	prev := ""
	for _, seq := range []uint64{0, 1, 15, 16, 255, 1 << 32, 1<<64 - 1} {
		n := SeqName(seq)
		if got, ok := ParseSeqName(n); !ok || got != seq {
			t.Fatalf("ParseSeqName(SeqName(%d) = %q) = %d, %v", seq, n, got, ok)
		}
		if n <= prev {
			t.Fatalf("SeqName(%d) = %q does not sort after %q", seq, n, prev)
		}
		prev = n
	}
	for _, bad := range []string{"", "abc", "000000000000000G", "000000000000000A", "0000000000000000x"} {
		if _, ok := ParseSeqName(bad); ok {
			t.Errorf("ParseSeqName(%q) accepted", bad)
		}
	}
}

// A sequence-named container lists its members from their records, pages
// with cursors that survive deletes, and is not empty while it has one.
func TestSeqNamedContainer(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const c = "/p/box/"
	now := time.Now()
	var seqs []uint64
	err = st.Update(ctx, func(tx store.Txn) error {
		if err := CreatePod(tx, "p", now); err != nil {
			return err
		}
		if err := EnsureContainer(tx, c, now); err != nil {
			return err
		}
		for i := range 5 {
			seq := tx.NextSeq()
			p, m, err := AppendSeqMember(tx, c, seq, MediaJSONLD, fmt.Appendf(nil, `{"n":%d}`, i), now)
			if err != nil {
				return err
			}
			if p != c+SeqName(seq) || m.Member != 0 || m.Version != seq {
				return fmt.Errorf("AppendSeqMember: %s %+v", p, m)
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list := func(from uint64, limit int) ([]Member, uint64) {
		t.Helper()
		var ms []Member
		var next uint64
		if err := st.View(ctx, func(rd store.Reader) error {
			var err error
			ms, next, err = ListSeqNamed(rd, c, from, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ms, next
	}
	ms, next := list(0, 2)
	if len(ms) != 2 || ms[0].Seq != seqs[0] || ms[1].Seq != seqs[1] || next != seqs[2] {
		t.Fatalf("first page: %+v next %d", ms, next)
	}
	// Delete the member the cursor points at: the next page starts after it.
	if err := st.Update(ctx, func(tx store.Txn) error { return Delete(tx, c+SeqName(seqs[2]), Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	ms, next = list(next, 2)
	if len(ms) != 2 || ms[0].Seq != seqs[3] || ms[1].Seq != seqs[4] || next != 0 {
		t.Fatalf("second page: %+v next %d", ms, next)
	}
	// Not empty while any member is left, although no membership key exists.
	for i, seq := range []uint64{seqs[0], seqs[1], seqs[3], seqs[4]} {
		err := st.Update(ctx, func(tx store.Txn) error { return Delete(tx, c, Preconditions{}) })
		if !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("delete with %d members left: %v", 4-i, err)
		}
		if err := st.Update(ctx, func(tx store.Txn) error { return Delete(tx, c+SeqName(seq), Preconditions{}) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Update(ctx, func(tx store.Txn) error { return Delete(tx, c, Preconditions{}) }); err != nil {
		t.Fatalf("delete of the emptied container: %v", err)
	}
}

// TestReadChildrenOwnACL: ReadChildren tells which children have an ACL
// document of their own, however the page is cut, including a child whose
// ACL sorts after another child ("a-b" lies between "a" and "a.acl"), among
// a child container's records (not a child here) and the container's own
// ACL.
func TestReadChildrenOwnACL(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const c = "/p/box/"
	now := time.Now()
	err = st.Update(ctx, func(tx store.Txn) error {
		if err := CreatePod(tx, "p", now); err != nil {
			return err
		}
		for _, p := range []string{"a", "a-b", "a.acl", "b", "c", "c.acl", "sub/", "sub/.acl", "sub/x", "sub/x.acl", ".acl"} {
			if IsContainer(p) {
				err = EnsureContainer(tx, c+p, now)
			} else {
				_, _, err = Put(tx, c+p, MediaTurtle, nil, now, Preconditions{})
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a": true, "a-b": false, "b": false, "c": true}
	for limit := 1; limit <= 6; limit++ {
		seen := 0
		for start := ""; ; {
			var chs []Child
			var more bool
			if err := st.View(ctx, func(rd store.Reader) error {
				var err error
				chs, more, err = ReadChildren(rd, c, start, limit, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, ch := range chs {
				name := ch.Path[len(c):]
				if w, ok := want[name]; !ok || ch.OwnACL != w {
					t.Errorf("limit %d: %s OwnACL %v, want %v (listed: %v)", limit, name, ch.OwnACL, w, ok)
				}
				seen++
			}
			if !more {
				break
			}
			start = chs[len(chs)-1].Path[len(c):] + "\x00"
		}
		if seen != len(want) {
			t.Errorf("limit %d: %d children listed, want %d", limit, seen, len(want))
		}
	}
}
