package store

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// BenchmarkUpdateConcurrent measures durable Updates from 32 concurrent
// writers, each writing one 200-byte value, with and without group commit.
func BenchmarkUpdateConcurrent(b *testing.B) {
	b.Run("group", func(b *testing.B) { benchUpdate(b, false, 32) })
	b.Run("nogroup", func(b *testing.B) { benchUpdate(b, true, 32) })
}

// BenchmarkUpdateSingle is BenchmarkUpdateConcurrent with one writer: the
// latency of one durable Update.
func BenchmarkUpdateSingle(b *testing.B) {
	b.Run("group", func(b *testing.B) { benchUpdate(b, false, 1) })
	b.Run("nogroup", func(b *testing.B) { benchUpdate(b, true, 1) })
}

func benchUpdate(b *testing.B, noGroupCommit bool, writers int) {
	var batches, updates atomic.Int64
	s, err := Open(Options{
		Dir:           b.TempDir(),
		NoGroupCommit: noGroupCommit,
		OnBatch: func(n int) {
			batches.Add(1)
			updates.Add(int64(n))
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), 200)
	var next atomic.Uint64
	update := func() {
		key := AppendUint64([]byte(PrefixResource+"/bench/"), next.Add(1))
		if err := s.Update(ctx, func(tx Txn) error { return tx.Set(key, value) }); err != nil {
			b.Error(err)
		}
	}

	b.ResetTimer()
	if writers == 1 {
		for range b.N {
			update()
		}
	} else {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((writers + procs - 1) / procs)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				update()
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(updates.Load())/float64(n), "updates/batch")
	}
}

// BenchmarkBadgerFloor measures Badger used directly, without this
// package's writer: 64 goroutines each commit a Badger transaction of 7
// keys and 2.6 KB (what a publish with fan-out 3 writes) with SyncWrites,
// which Badger batches into shared syncs itself. Compare it with the same
// writes through Store.Update (pod's BenchmarkPublishStoreFloor), whose
// writer merges concurrent updates into one Badger transaction per sync.
func BenchmarkBadgerFloor(b *testing.B) {
	db, err := badger.Open(badgerOptions(Options{Dir: b.TempDir()}, slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := bytes.Repeat([]byte("v"), 420)
	var next atomic.Uint64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			txn := db.NewTransaction(true)
			for k := range 7 {
				key := AppendUint64([]byte(PrefixResource+"/bench/"+strconv.Itoa(k)+"/"), n)
				v := value
				if k == 1 || k == 6 {
					v = value[:40]
				}
				if err := txn.Set(key, v); err != nil {
					b.Fatal(err)
				}
			}
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txns/s")
}
