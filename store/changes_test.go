package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestOnChange(t *testing.T) {
	var mu sync.Mutex
	var got []Change
	st, err := Open(Options{InMemory: true, ChangePrefixes: []string{"r"}, OnChange: func(c []Change) {
		mu.Lock()
		got = append(got, c...)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx Txn) error {
		_ = tx.Set([]byte("r/a"), []byte("1"))
		_ = tx.Set([]byte("x/ignored"), []byte("1"))
		return tx.Set([]byte("r/b"), []byte("2"))
	}); err != nil {
		t.Fatal(err)
	}
	_ = st.Update(ctx, func(tx Txn) error {
		_ = tx.Set([]byte("r/c"), []byte("3"))
		return errors.New("fail") // failed: not reported
	})
	if err := st.Update(ctx, func(tx Txn) error { return tx.Delete([]byte("r/a")) }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		key, val string
		del      bool
	}{{"r/a", "1", false}, {"r/b", "2", false}, {"r/a", "", true}}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if string(got[i].Key) != w.key || string(got[i].Value) != w.val || got[i].Deleted != w.del {
			t.Errorf("change %d = %q %q %v, want %+v", i, got[i].Key, got[i].Value, got[i].Deleted, w)
		}
	}
}
