package pod_test

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"podserver/ldp"
)

// TestClusterNodeKilledMidDelivery runs two real nodes on one PostgreSQL
// database. A webhook named in alice's settings hangs on its first
// request; while node A is in that attempt, A is killed with SIGKILL. Node
// B takes the delivery over once A's lease expires and the webhook gets
// the event; the outbox read through B shows it delivered.
func TestClusterNodeKilledMidDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	url := pgCluster.URL(t)
	bin := buildBinary(t)

	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	var mu sync.Mutex
	var ids []string
	first := make(chan struct{})
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		n := len(ids)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // A's attempt hangs until the test ends
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	defer close(release)

	addrA, addrB := freeAddr(t), freeAddr(t)
	common := []string{"--store", url, "--base-url", clusterBase, "--demo", "--log-level", "error",
		"--delivery-timeout", "2s", "--delivery-lease", "4s", "--retry-schedule", "200ms,200ms,200ms"}
	a, _ := runServe(t, bin, append([]string{"--addr", addrA, "--node", "a"}, common...)...)
	_, _ = runServe(t, bin, append([]string{"--addr", addrB, "--node", "b"}, common...)...)
	nodeURL := func(addr, u string) string { return "http://" + addr + strings.TrimPrefix(u, clusterBase) }
	webID := func(p string) string { return clusterBase + "/" + p + "/profile/card#me" }

	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + webID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + webID("crm") + `","subscribes":["realestate/contact"],"target":"` + hook.URL + `/events","secret":"` + secret + `"}]}`
	if r := evDo(t, evReq{method: "PUT", url: nodeURL(addrA, clusterBase+"/alice/settings/subscriptions"), key: evKeys.alice, body: settings, ctype: ldp.MediaJSONLD}); r.status != http.StatusNoContent {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	ev := `{"recipient":"` + webID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	r := evDo(t, evReq{method: "POST", url: nodeURL(addrA, clusterBase+"/producer/publish/"), key: evKeys.producer, body: ev})
	if r.status != http.StatusCreated {
		t.Fatalf("publish on A: %d %s", r.status, r.body)
	}
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook got no attempt from A")
	}
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(ids)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node B did not take over the delivery of the killed node A")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("B delivered %v after A was killed (lease 4s)", time.Since(killed))
	mu.Lock()
	if ids[0] == "" || ids[1] != ids[0] {
		t.Errorf("webhook-ids %q: B's attempt must carry the same message id as A's", ids)
	}
	mu.Unlock()
	// The outbox, read through B, shows the delivery done.
	for {
		o := evDo(t, evReq{method: "GET", url: nodeURL(addrB, clusterBase+"/alice/outbox/?status=delivered"), key: evKeys.alice})
		if o.status == http.StatusOK && strings.Contains(o.body, hook.URL+"/events") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's outbox through B: %d %s, want the webhook delivery delivered", o.status, o.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
