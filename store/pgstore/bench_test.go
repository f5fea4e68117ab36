package pgstore_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"podserver/store"
	"podserver/store/pgstore"
)

// BenchmarkUpdate measures Update throughput with 1 KB writes, each update
// writing one key built from NextSeq (as inboxes do) under a watched
// prefix: from 1 and 64 concurrent goroutines on one node, and from 64
// goroutines spread over two nodes on one database. ns/op is per Update,
// over all goroutines.
func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		name           string
		nodes, writers int
	}{
		{"nodes=1/writers=1", 1, 1},
		{"nodes=1/writers=64", 1, 64},
		{"nodes=2/writers=64", 2, 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := cluster.URL(b)
			stores := make([]*pgstore.Store, bc.nodes)
			for i := range stores {
				s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url,
					OnChange: func([]store.Change) {}, ChangePrefixes: []string{"i"}})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			value := bytes.Repeat([]byte("v"), 1024)
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range bc.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%len(stores)]
					for left.Add(-1) >= 0 {
						err := s.Update(context.Background(), func(tx store.Txn) error {
							return tx.Set(store.AppendUint64([]byte("i"), tx.NextSeq()), value)
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			var batches, updates uint64
			for _, s := range stores {
				st := s.Stats()
				batches += st.Batches
				updates += st.Updates
			}
			if batches > 0 {
				b.ReportMetric(float64(updates)/float64(batches), "updates/batch")
			}
		})
	}
}
