package ldp_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// TestPodsExist: PodsExist answers as PodExists does for each name, read
// at once: active and disabled pods exist, one being deleted and one never
// made do not, and a name asked twice is answered twice.
func TestPodsExist(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	err = st.Update(ctx, func(tx store.Txn) error {
		for _, p := range []string{"active", "off", "going"} {
			if err := ldp.CreatePod(tx, p, time.Now()); err != nil {
				return err
			}
		}
		if _, err := ldp.SetPodState(tx, "off", ldp.PodDisabled); err != nil {
			return err
		}
		_, err := ldp.SetPodState(tx, "going", ldp.PodDeleting)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"active", "off", "going", "never", "active"}
	want := []bool{true, true, false, false, true}
	check := func(rd store.Reader) error {
		got, err := ldp.PodsExist(rd, names)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			t.Errorf("PodsExist(%q) = %v, want %v", names, got, want)
		}
		for i, n := range names {
			if one, err := ldp.PodExists(rd, n); err != nil || one != want[i] {
				t.Errorf("PodExists(%s) = %v, %v; want %v", n, one, err, want[i])
			}
		}
		return nil
	}
	if err := st.View(ctx, check); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Txn) error { return check(tx) }); err != nil {
		t.Fatal(err)
	}
}
