package ldp

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"podserver/store"
)

// ReadChildren resolves shared bodies whether they lie together (one
// scan) or apart (bodies of other containers stored in between, beyond the
// scan's budget), beside inline bodies, in order.
func TestReadChildrenSharedBodies(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	want := map[string][]byte{}
	var order []string
	err = st.Update(ctx, func(tx store.Txn) error {
		if err := CreatePod(tx, "a", now); err != nil {
			return err
		}
		for _, c := range []string{"/a/in/", "/a/other/"} {
			if err := EnsureContainer(tx, c, now); err != nil {
				return err
			}
		}
		for i := range 40 {
			body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
			var p string
			var err error
			if i%7 == 3 {
				p, _, err = AppendSeqMember(tx, "/a/in/", tx.NextSeq(), MediaJSONLD, body, now)
			} else {
				p, _, err = AppendSeqMemberShared(tx, "/a/in/", tx.NextSeq(), MediaJSONLD, NewSharedBody(body), now)
			}
			if err != nil {
				return err
			}
			want[p] = body
			order = append(order, p)
			if i == 20 { // many bodies elsewhere between the page's bodies
				for j := range 200 {
					b := NewSharedBody([]byte(`{"other":` + strconv.Itoa(j) + `}`))
					if _, _, err := AppendSeqMemberShared(tx, "/a/other/", tx.NextSeq(), MediaJSONLD, b, now); err != nil {
						return err
					}
				}
			}
		}
		// The same body again: one stored body, two records.
		p, _, err := AppendSeqMemberShared(tx, "/a/in/", tx.NextSeq(), MediaJSONLD, NewSharedBody([]byte(`{"n":0}`)), now)
		want[p] = []byte(`{"n":0}`)
		order = append(order, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, func(rd store.Reader) error {
		got, more, err := ReadChildren(rd, "/a/in/", "", 100, nil)
		if err != nil {
			return err
		}
		if more || len(got) != len(order) {
			t.Fatalf("%d children, more %v", len(got), more)
		}
		for i, ch := range got {
			if ch.Path != order[i] || !bytes.Equal(ch.Body, want[ch.Path]) || ch.Meta.Size != int64(len(want[ch.Path])) {
				t.Errorf("%d: %s %s (size %d), want %s %s", i, ch.Path, ch.Body, ch.Meta.Size, order[i], want[order[i]])
			}
			res, err := Get(rd, ch.Path)
			if err != nil || !bytes.Equal(res.Body, ch.Body) {
				t.Errorf("Get %s: %v", ch.Path, err)
			}
		}
		page, more, err := ReadChildren(rd, "/a/in/", Name(order[10]), 5, nil)
		if err != nil || !more || len(page) != 5 || page[0].Path != order[10] {
			t.Errorf("page from %s: %d %v %v", order[10], len(page), more, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Bytes stored twice as fresh bodies: each record reads its body whichever
// copy goes first, and both bodies go with their last records.
func TestFreshSharedBodyStoredTwice(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	body := []byte(`{"same":1}`)
	var p []string
	update := func(fn func(tx store.Txn) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx store.Txn) error {
		if err := CreatePod(tx, "a", now); err != nil {
			return err
		}
		if err := EnsureContainer(tx, "/a/in/", now); err != nil {
			return err
		}
		for range 2 {
			m, _, err := AppendSeqMemberShared(tx, "/a/in/", tx.NextSeq(), MediaJSONLD, NewFreshSharedBody(body), now)
			if err != nil {
				return err
			}
			p = append(p, m)
		}
		return nil
	})
	check := func(live []string, wantBodies int) {
		t.Helper()
		err := st.View(ctx, func(rd store.Reader) error {
			for _, x := range live {
				if res, err := Get(rd, x); err != nil || !bytes.Equal(res.Body, body) {
					t.Errorf("%s: %v", x, err)
				}
			}
			n := 0
			err := rd.Scan([]byte(store.PrefixBody+"d"), nil, false, func(_, _ []byte) error { n++; return nil })
			if n != wantBodies {
				t.Errorf("%d bodies stored, want %d", n, wantBodies)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(p, 2)
	// A third record of the bytes finds one of them.
	update(func(tx store.Txn) error {
		m, _, err := AppendSeqMemberShared(tx, "/a/in/", tx.NextSeq(), MediaJSONLD, NewSharedBody(body), now)
		p = append(p, m)
		return err
	})
	check(p, 2)
	for i := range p {
		update(func(tx store.Txn) error { return Delete(tx, p[i], Preconditions{}) })
		check(p[i+1:], map[int]int{0: 1, 1: 1, 2: 0}[i])
	}
	n := 0
	err = st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody), nil, false, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil || n != 0 {
		t.Errorf("%d shared body keys left: %v", n, err)
	}
}
