package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"podserver/store"
	"podserver/store/pgstore"
)

// Background updates queued before an ordinary one do not hold it back:
// it runs first, and every background update still runs, in its order.
func TestBackgroundYieldsToOrdinary(t *testing.T) {
	s := openOpts(t, cluster.URL(t), pgstore.Options{})
	ctx := context.Background()
	hold, running := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	var release sync.Once
	defer release.Do(func() { close(hold) })
	go func() {
		held <- s.Update(ctx, func(tx store.Txn) error {
			close(running)
			<-hold
			return nil
		})
	}()
	<-running
	var mu sync.Mutex
	var order []string
	record := func(name string) func(store.Txn) error {
		return func(tx store.Txn) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return tx.Set([]byte("bg-"+name), []byte("v"))
		}
	}
	const jobs = 5
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			if err := s.Update(store.WithBackground(ctx), record(fmt.Sprint("job", i))); err != nil {
				t.Error(err)
			}
		})
		eventually(t, "job queued", func() bool { return pgstore.Queued(s) == i+1 })
	}
	wg.Go(func() {
		if err := s.Update(ctx, record("publish")); err != nil {
			t.Error(err)
		}
	})
	eventually(t, "publish queued", func() bool { return pgstore.Queued(s) == jobs+1 })
	release.Do(func() { close(hold) })
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	want := []string{"publish"}
	for i := range jobs {
		want = append(want, fmt.Sprint("job", i))
	}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("run order %v, want %v", order, want)
	}
}
