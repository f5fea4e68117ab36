package pod_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"podserver/bench"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/pod"
	"podserver/store"
)

// freeAddr returns a loopback address with a port that was free a moment
// ago (the server is restarted on the same one, since URLs stored in
// settings name it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestEventsCrash runs the real binary under bench load, kills it with
// SIGKILL mid-run and restarts over the same data: every acknowledged event
// is stored, every event that is stored (acknowledged or not) is in each of
// its target inboxes exactly once, delayed ones too once they fall due, and
// no inbox holds anything else.
func TestEventsCrash(t *testing.T) {
	eventsCrash(t, 3, 6)
}

// TestFanoutJobCrash is TestEventsCrash with every event's subscriber
// copies written by a fan-out job after the answer (fan-out 12 past a
// threshold of 4, in batches of 3: four transactions per event after the
// publish's), so the SIGKILL lands while jobs are under way; after the
// restart every acknowledged event's copies are in every inbox exactly
// once.
func TestFanoutJobCrash(t *testing.T) {
	eventsCrash(t, 12, 14, "--fanout-threshold", "4", "--fanout-batch", "3")
}

// eventsCrash runs TestEventsCrash's scenario with fanout subscribers per
// event out of subscribers, serve started with args besides its own.
func eventsCrash(t *testing.T, fanout, subscribers int, args ...string) {
	if testing.Short() {
		t.Skip("crash test: not with -short")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	addr := freeAddr(t)
	baseURL := "http://" + addr

	// Provision the bench pods offline.
	s, err := pod.New(pod.Options{DataDir: dir, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	setup, err := bench.Provision(context.Background(), s, bench.Sizes{Producers: 2, Users: 8, Subscribers: subscribers})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	cmd, _ := runServe(t, bin, append([]string{"--addr", addr, "--base-url", baseURL, "--data", dir, "--log-level", "error"}, args...)...)
	if err := bench.Configure(context.Background(), bench.NewClient(2), setup, fanout); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	acked := map[string]int{} // event id -> user index
	done := make(chan bench.Result, 1)
	go func() {
		res, _ := bench.Run(context.Background(), bench.Config{
			Setup: setup, Duration: 3 * time.Second, Connections: 16, Fanout: fanout, Delayed: 25,
			Acked: func(id string, user int) {
				mu.Lock()
				acked[id] = user
				mu.Unlock()
			},
		})
		done <- res
	}()
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	<-done
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	if nAcked < 10 {
		t.Fatalf("only %d events acknowledged before the kill", nAcked)
	}

	// Restart in-process over the same data; pending delayed deliveries
	// complete.
	s2, err := pod.New(pod.Options{DataDir: dir, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(context.Background())
	st := s2.Store()
	jobs := 0 // fan-out batches the kill left unwritten
	_ = st.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixFanout), nil, false, func(_, _ []byte) error {
			jobs++
			return nil
		})
	})
	t.Logf("%d fan-out batches left to write at the restart", jobs)
	deadline := time.Now().Add(15 * time.Second)
	for {
		pending := 0
		_ = st.View(context.Background(), func(rd store.Reader) error {
			return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, _ []byte) error {
				pending++
				return nil
			})
		})
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still pending after the restart", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}

	userOf := map[string]int{}
	for i, u := range setup.Users {
		userOf[u.WebID()] = i
	}
	// Every stored event, and the inboxes it must be in.
	type doc struct {
		ID        string `json:"id"`
		Recipient string `json:"recipient"`
	}
	stored := map[string][]string{} // event id -> target inbox paths
	copies := map[string]map[string]int{}
	err = st.View(context.Background(), func(rd store.Reader) error {
		for _, p := range setup.Producers {
			err := ldp.ScanChildren(rd, ldp.StoragePath(p.Name, "publish/"), "", func(_ string, _ ldp.Meta, body []byte) error {
				var d doc
				if err := json.Unmarshal(body, &d); err != nil {
					return err
				}
				u, ok := userOf[d.Recipient]
				if !ok {
					return fmt.Errorf("event %s for unknown recipient %s", d.ID, d.Recipient)
				}
				targets := []string{inbox.Path(setup.Users[u].Name)}
				for _, si := range bench.SubscribersOf(u, fanout, len(setup.Subscribers)) {
					targets = append(targets, inbox.Path(setup.Subscribers[si].Name))
				}
				stored[d.ID] = targets
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, p := range append(append([]bench.Pod(nil), setup.Users...), setup.Subscribers...) {
			ib := inbox.Path(p.Name)
			copies[ib] = map[string]int{}
			err := ldp.ScanChildren(rd, ib, "", func(_ string, _ ldp.Meta, body []byte) error {
				var d doc
				if err := json.Unmarshal(body, &d); err != nil {
					return err
				}
				copies[ib][d.ID]++
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged event %s is not stored", id)
		}
	}
	want := map[string]map[string]bool{}
	for id, targets := range stored {
		for _, ib := range targets {
			if n := copies[ib][id]; n != 1 {
				t.Errorf("inbox %s holds %d copies of %s, want 1", ib, n, id)
			}
			if want[ib] == nil {
				want[ib] = map[string]bool{}
			}
			want[ib][id] = true
		}
	}
	extra := 0
	for ib, ids := range copies {
		for id := range ids {
			if !want[ib][id] {
				extra++
				t.Errorf("inbox %s holds %s, which is no stored event of it", ib, id)
			}
		}
	}
	t.Logf("%d events acknowledged before SIGKILL, %d stored; all targets hold exactly one copy each; %d stray copies", len(acked), len(stored), extra)
}
