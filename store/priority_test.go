package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// Background updates queued before an ordinary one do not hold it back:
// the ordinary update runs first, beside at most
// BackgroundWithForeground of them, and every background update still
// runs, each seeing the writes committed before it.
func TestBackgroundYieldsToOrdinary(t *testing.T) {
	ctx := context.Background()
	var batches batchSizes
	s := openMem(t, Options{OnBatch: batches.add})
	var mu sync.Mutex
	var order []string
	record := func(name string) func(Txn) error {
		return func(tx Txn) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return tx.Set([]byte(name), []byte("v"))
		}
	}
	release := holdWriter(t, s)
	const jobs = 7
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			noErr(t, s.Update(WithBackground(ctx), record(fmt.Sprintf("job%d", i))))
		})
		waitQueued(t, s, i+1) // in this order
	}
	wg.Go(func() { noErr(t, s.Update(ctx, record("publish"))) })
	waitQueued(t, s, jobs+1)
	close(release)
	wg.Wait()

	if len(order) != jobs+1 || order[0] != "publish" {
		t.Fatalf("run order %v: want the ordinary update first", order)
	}
	for i, name := range order[1:] {
		if name != fmt.Sprintf("job%d", i) {
			t.Fatalf("run order %v: background updates out of their order", order)
		}
	}
	// The held batch, then the publish with one job, then the jobs left
	// BackgroundAlone at a time.
	want := []int{1, 1 + BackgroundWithForeground}
	for left := jobs - BackgroundWithForeground; left > 0; left -= BackgroundAlone {
		want = append(want, min(left, BackgroundAlone))
	}
	if got := batches.get(); !slices.Equal(got, want) {
		t.Fatalf("batch sizes %v, want %v", got, want)
	}
	noErr(t, s.View(ctx, func(rd Reader) error {
		for _, k := range order {
			if _, err := rd.Get([]byte(k)); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	}))
}

// A steady stream of ordinary updates does not starve background work:
// each commit beside ordinary updates takes one background update.
func TestBackgroundNotStarved(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, Options{})
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []string
	wg.Go(func() {
		noErr(t, s.Update(WithBackground(ctx), func(Txn) error {
			mu.Lock()
			order = append(order, "job")
			mu.Unlock()
			return nil
		}))
	})
	waitQueued(t, s, 1)
	for i := range 3 {
		wg.Go(func() {
			noErr(t, s.Update(ctx, func(Txn) error {
				mu.Lock()
				order = append(order, fmt.Sprint("u", i))
				mu.Unlock()
				return nil
			}))
		})
		waitQueued(t, s, i+2)
	}
	close(release)
	wg.Wait()
	if len(order) != 4 || order[3] != "job" {
		t.Fatalf("run order %v: want the job in the first commit, after its ordinary updates", order)
	}
}

func TestIsBackground(t *testing.T) {
	ctx := context.Background()
	if IsBackground(ctx) || !IsBackground(WithBackground(ctx)) {
		t.Fatal("IsBackground does not tell WithBackground's contexts")
	}
}
