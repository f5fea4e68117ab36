package inbox

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// addPods creates pods with their inboxes in st.
func addPods(t testing.TB, st store.Store, names ...string) {
	t.Helper()
	now := time.Now()
	err := st.Update(context.Background(), func(tx store.Txn) error {
		for _, n := range names {
			if err := ldp.CreatePod(tx, n, now); err != nil {
				return err
			}
			if _, _, err := ldp.Put(tx, Path(n), "", nil, now, ldp.Preconditions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countingTxn counts the bytes a transaction leaves written: the key and
// final value of every key it sets (a store writes a key set twice once).
type countingTxn struct {
	store.Txn
	final map[string]int
}

func (c *countingTxn) Set(k, v []byte) error {
	c.final[string(k)] = len(k) + len(v)
	return c.Txn.Set(k, v)
}

func (c *countingTxn) bytes() int {
	n := 0
	for _, v := range c.final {
		n += v
	}
	return n
}

// BenchmarkCopyBytes reports the bytes one publish's copies write per copy
// (keys and values) for a 1 KB event, at fan-out 1, 3, 100 and 1,000.
func BenchmarkCopyBytes(b *testing.B) {
	for _, fan := range []int{1, 3, 100, 1000} {
		b.Run("fanout="+strconv.Itoa(fan), func(b *testing.B) {
			st, err := store.Open(store.Options{InMemory: true})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			names := make([]string, fan)
			for i := range names {
				names[i] = "pod" + strconv.Itoa(i)
			}
			addPods(b, st, names...)
			ib := New()
			data := strings.Repeat("x", 1024-150)
			perCopy := 0.0
			for i := 0; b.Loop(); i++ {
				id := "https://pods.example/producer/publish/" + ldp.NewID()
				body := []byte(`{"id":"` + id + `","topic":"realestate/contact#add","recipient":"https://pods.example/pod0/profile/card#me","data":"` + data + `"}`)
				err := st.Update(context.Background(), func(tx store.Txn) error {
					ct := &countingTxn{Txn: tx, final: map[string]int{}}
					cs := make([]Copy, fan)
					for j, n := range names {
						cs[j] = Copy{Inbox: Path(n), EventID: id, Body: body, NewEvent: true, InboxExists: true}
					}
					if _, err := ib.AppendAll(ct, cs, time.Now()); err != nil {
						return err
					}
					perCopy = float64(ct.bytes()) / float64(fan)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perCopy, "B/copy")
		})
	}
}
