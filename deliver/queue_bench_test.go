package deliver

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
)

// BenchmarkQueueRemote measures the queue's throughput for remote
// deliveries whose target answers at once: b.N records enqueued, each in
// an Update of its own from 16 concurrent publishers, spread over 8 target
// hosts, and the time until every one is recorded delivered. "disk" is a
// Badger store on disk (durable commits), "mem" one in memory.
func BenchmarkQueueRemote(b *testing.B) {
	b.Run("mem", func(b *testing.B) {
		st, err := store.Open(store.Options{InMemory: true})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchRemote(b, st)
	})
	b.Run("disk", func(b *testing.B) {
		st, err := store.Open(store.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchRemote(b, st)
	})
}

func benchRemote(b *testing.B, st store.Store) {
	var delivered atomic.Int64
	done := make(chan struct{}, 1)
	want := int64(b.N)
	q := New(Config{Store: st, OnAttempt: func(r Record, outcome string, _ time.Duration) {
		if outcome == OutcomeDelivered && delivered.Add(1) == want {
			done <- struct{}{}
		}
	}})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		return Response{Status: 204}, nil
	})
	q.Start()
	defer q.Close()
	var n atomic.Int64
	b.SetParallelism(16 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := st.Update(context.Background(), func(tx store.Txn) error {
				_, err := q.Enqueue(tx, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: "https://h" + strconv.FormatInt(i%8, 10) + ".example/cb"})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d delivered", delivered.Load(), want)
	}
	b.StopTimer()
}
