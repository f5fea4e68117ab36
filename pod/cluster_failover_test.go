//go:build unix

package pod_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"podserver/pod"
	"podserver/podtest"
	"podserver/store/pgstore/pgtest"
)

// Failover test sizes.
const (
	foBeforeKill   = 300 // acknowledged publishes before the primary is killed
	foAfterPromote = 200 // acknowledged publishes after the promotion
	foPublishers   = 8
)

// TestClusterFailover: two nodes share a primary with a synchronous
// standby and publish under load from eight clients. The primary is
// killed with SIGKILL and the standby promoted a second later. Every
// publish the nodes acknowledged is in the recipient's, the source's and
// the subscriber's inbox exactly once, the nodes serve again without a
// restart, and every failed publish was a 503 (never a hang or a 500).
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a primary and a standby")
	}
	ha := pgtest.StartHA(t)
	nodes := []*pod.Server{
		podtest.RunServer(t, pod.Options{StoreURL: ha.URL(), BaseURL: clusterBase}),
		podtest.RunServer(t, pod.Options{StoreURL: ha.URL(), BaseURL: clusterBase}),
	}
	client := &http.Client{Timeout: 30 * time.Second}

	var (
		mu        sync.Mutex
		acked     []string // Locations
		failures  = map[int]int{}
		firstFail time.Time
		backAt    time.Time
		killed    atomic.Bool
		promoted  atomic.Bool
		afterProm atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	publish := func(n *pod.Server) (int, string, error) {
		body := `{"id": "` + uuid.NewString() + `", "recipient": "` + n.WebID("alice") + `", "source": "` + n.WebID("bob") +
			`", "topic": "realestate/contact#add", "data": {"type": "AddAction"}}`
		req, _ := http.NewRequest(http.MethodPost, at(n, n.PodRoot("producer")+"publish/"), strings.NewReader(body))
		req.Header.Set("x-api-key", evKeys.producer)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Location"), nil
	}
	for w := range foPublishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				started := time.Now()
				status, loc, err := publish(nodes[(w+i)%len(nodes)])
				mu.Lock()
				switch {
				case err == nil && status == http.StatusCreated:
					acked = append(acked, loc)
					// Service is back with the first publish that started
					// after the first failure and succeeded.
					if backAt.IsZero() && !firstFail.IsZero() && started.After(firstFail) {
						backAt = time.Now()
					}
					if promoted.Load() {
						afterProm.Add(1)
					}
				default:
					if err != nil {
						status = -1
					}
					failures[status]++
					if firstFail.IsZero() && killed.Load() {
						firstFail = time.Now()
					}
				}
				mu.Unlock()
				if err != nil || status != http.StatusCreated {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("not within 90s: %s (failures %v)", what, failures)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("publishes before the kill", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= foBeforeKill })
	killed.Store(true)
	killedAt := time.Now()
	ha.KillPrimary()
	time.Sleep(time.Second)
	ha.Promote()
	promoted.Store(true)
	promotedAt := time.Now()
	waitFor("publishes after the promotion", func() bool { return afterProm.Load() >= foAfterPromote })
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for status := range failures {
		if status != http.StatusServiceUnavailable {
			t.Errorf("failed publishes by status: %v; want 503 only", failures)
			break
		}
	}
	lost := 0
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"bob", evKeys.bob}, {"crm", evKeys.crm}} {
		copies := map[string]int{}
		for _, it := range allClusterCopies(t, nodes[1], who.pod, who.key) {
			if id, ok := it["id"].(string); ok {
				copies[id]++
			}
		}
		for _, loc := range acked {
			if n := copies[loc]; n != 1 {
				lost++
				t.Errorf("%s's inbox holds %d copies of acknowledged %s, want 1", who.pod, n, loc)
			}
		}
	}
	outage := time.Duration(0)
	if !firstFail.IsZero() && !backAt.IsZero() {
		outage = backAt.Sub(firstFail)
	}
	t.Logf("acknowledged %d publishes (%d after the promotion), copies missing or doubled %d, failed %v; "+
		"time without service %v (first failure to first success; kill to promotion %v)",
		len(acked), afterProm.Load(), lost, failures, outage, promotedAt.Sub(killedAt))
}

// allClusterCopies reads all of pod's inbox through node, page by page.
func allClusterCopies(t *testing.T, node *pod.Server, podName, key string) []map[string]any {
	t.Helper()
	var all []map[string]any
	from := ""
	for {
		q := "limit=1000"
		if from != "" {
			q += "&from=" + from
		}
		pg := clusterInbox(t, node, podName, key, q)
		all = append(all, pg.Contains...)
		if len(pg.Contains) < 1000 {
			return all
		}
		if pg.Next == "" || pg.Next == from {
			t.Fatalf("inbox paging stuck at %q", from)
		}
		from = pg.Next
	}
}
