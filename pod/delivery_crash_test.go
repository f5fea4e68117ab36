package pod_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// TestDeliveryRemoteCrash kills a sending server (the real binary) with
// SIGKILL while it publishes to a recipient on another server, restarts it
// over the same data, and checks that every acknowledged event reaches the
// recipient and its subscriber on the other server, each exactly once.
func TestDeliveryRemoteCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not with -short")
	}
	b := remoteServer(t)
	dirA := t.TempDir()
	addrA := freeAddr(t)
	baseA := "http://" + addrA
	producer := baseA + "/producer/profile/card#me"
	allowRemote(t, b, "alice", evKeys.alice, producer)

	// Provision A's demo pods offline, then run it as a separate process.
	a, err := pod.New(pod.Options{DataDir: dirA, BaseURL: baseA, AllowPrivateTargets: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	cmd, _ := runServe(t, bin, "--addr", addrA, "--base-url", baseA, "--data", dirA, "--log-level", "error", "--allow-private-targets")

	ev := `{"recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 800 { // allCopies reads one page of 1000
					return
				}
				req, _ := http.NewRequest("POST", baseA+"/producer/publish/", strings.NewReader(ev))
				req.Header.Set("x-api-key", evKeys.producer)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, resp.Header.Get("Location"))
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d events acknowledged before the kill", len(acked))
	}

	// Restart in-process over the same data.
	a2 := podtest.RunServer(t, pod.Options{Addr: addrA, DataDir: dirA, BaseURL: baseA, AllowPrivateTargets: true})
	pending := func() int {
		n := 0
		_ = a2.Store().View(context.Background(), func(rd store.Reader) error {
			return rd.Scan([]byte(store.PrefixDelivery), nil, false, func(_, _ []byte) error {
				n++
				return nil
			})
		})
		return n
	}
	t.Logf("%d deliveries pending at the restart", pending())
	deadline := time.Now().Add(30 * time.Second)
	for pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still pending after the restart", pending())
		}
		time.Sleep(50 * time.Millisecond)
	}
	outbox, err := func() ([]deliver.Record, error) {
		var rs []deliver.Record
		err := a2.Store().View(context.Background(), func(rd store.Reader) error {
			var err error
			rs, err = deliver.Outbox(rd, "producer")
			return err
		})
		return rs, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	// Only delivered records are left (the last KeepDelivered of them).
	for _, r := range outbox {
		if r.Status != deliver.StatusDelivered {
			t.Fatalf("producer's outbox after the restart holds %+v", r)
		}
	}
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"crm", evKeys.crm}} {
		copies := allCopies(t, b, who.pod, who.key)
		seen := map[string]int{}
		for _, c := range copies {
			id, _ := c["id"].(string)
			seen[id]++
		}
		for _, id := range acked {
			if seen[id] != 1 {
				t.Errorf("%s on B: %d copies of acknowledged %s, want 1", who.pod, seen[id], id)
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s on B: %d copies of %s", who.pod, n, id)
			}
		}
		t.Logf("%s on B: %d events (%d acknowledged before the kill)", who.pod, len(seen), len(acked))
	}
}
