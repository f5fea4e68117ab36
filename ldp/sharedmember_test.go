package ldp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"podserver/store"
)

// An event resource stored by AppendMemberShared and its copies in other
// containers hold one body: the copies reference it through GetShared in
// later transactions, deleting the event leaves them readable byte for
// byte, and the body goes with the last of them.
func TestMemberSharedWithCopies(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	body := []byte(`{"id":"http://x/a/publish/e1","data":{"n":1}}`)
	const event = "/a/publish/e1"
	var copies []string
	var metas []Meta
	update := func(fn func(tx store.Txn) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	refs := func() uint64 {
		t.Helper()
		var n uint64
		if err := st.View(ctx, func(rd store.Reader) error {
			var err error
			n, err = BodyRefs(rd, body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	update(func(tx store.Txn) error {
		if err := CreatePod(tx, "a", now); err != nil {
			return err
		}
		for _, c := range []string{"/a/publish/", "/a/in1/", "/a/in2/"} {
			if err := EnsureContainer(tx, c, now); err != nil {
				return err
			}
		}
		sb := NewFreshSharedBody(body)
		if _, _, err := AppendMemberShared(tx, "/a/publish/", "e1", tx.NextSeq(), MediaJSONLD, sb, now); err != nil {
			return err
		}
		p, m, err := AppendSeqMemberShared(tx, "/a/in1/", tx.NextSeq(), MediaJSONLD, sb, now)
		copies, metas = append(copies, p), append(metas, m)
		return err
	})
	update(func(tx store.Txn) error {
		sb, err := GetShared(tx, event)
		if err != nil {
			return err
		}
		if !bytes.Equal(sb.Bytes(), body) {
			t.Fatalf("GetShared: %q", sb.Bytes())
		}
		p, m, err := AppendSeqMemberShared(tx, "/a/in2/", tx.NextSeq(), MediaJSONLD, sb, now)
		copies, metas = append(copies, p), append(metas, m)
		return err
	})
	if n := refs(); n != 3 {
		t.Fatalf("%d references, want 3 (the event and two copies)", n)
	}
	var stored int
	if err := st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody), nil, false, func(k, v []byte) error {
			if bytes.Equal(v, body) {
				stored++
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Fatalf("the body is stored %d times, want once", stored)
	}
	if err := st.View(ctx, func(rd store.Reader) error {
		r, err := Get(rd, event)
		if err != nil || !bytes.Equal(r.Body, body) || r.Meta.Member == 0 {
			t.Fatalf("GET event: %+v, %v", r, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	update(func(tx store.Txn) error { return Delete(tx, event, Preconditions{}) })
	if n := refs(); n != 2 {
		t.Fatalf("%d references after the event's delete, want 2", n)
	}
	for i, p := range copies {
		if err := st.View(ctx, func(rd store.Reader) error {
			r, err := Get(rd, p)
			if err != nil || !bytes.Equal(r.Body, body) || r.Meta.Version != metas[i].Version {
				t.Fatalf("copy %s after the event's delete: %+v, %v", p, r, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx store.Txn) error {
		if _, err := GetShared(tx, event); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetShared of the deleted event: %v", err)
		}
		for _, p := range copies {
			if err := Delete(tx, p, Preconditions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixBody), nil, false, func(k, _ []byte) error {
			t.Errorf("body key %q left after the last reference", k)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
}
