package pod_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"podserver/pod"
)

// waitQueuesIdle waits until no server in servers has a pending delivery
// (podserver_delivery_queue_depth{status="pending"} is 0), so that a test
// can then check that nothing more was delivered without sleeping for a
// guessed while. Give the servers in the order deliveries flow between
// them (the publisher's first): a record is completed only after the
// receiving server has stored the copy and enqueued what it causes, and a
// local delivery enqueues its follow-ups before it completes, so one pass
// that finds every queue empty in that order means the system is quiet.
func waitQueuesIdle(t testing.TB, servers ...*pod.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		idle := true
		for _, s := range servers {
			if pendingDeliveries(t, s) != "0" {
				idle = false
				break
			}
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("delivery queues not idle after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pendingDeliveries reads s's pending-delivery gauge from /metrics.
func pendingDeliveries(t testing.TB, s *pod.Server) string {
	t.Helper()
	resp, err := http.Get(s.BaseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	v := metricValue(string(b), `podserver_delivery_queue_depth{status="pending"}`)
	if v == "" {
		t.Fatalf("no pending-delivery gauge in /metrics")
	}
	return v
}
