package pod_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// fanoutSubscribers creates pods sub0... (each with its inbox and the
// inbox ACL that lets authenticated agents append, so alice's settings may
// route copies there) and subscribes them to alice's topic d/t, which
// producer may publish.
func fanoutSubscribers(t *testing.T, s *pod.Server, subs int) {
	t.Helper()
	items := []string{`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["d/t"]}`}
	for i := range subs {
		name := fmt.Sprintf("sub%d", i)
		if _, err := s.CreatePod(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		items = append(items, `{"type":"Subscription","agent":"`+s.WebID(name)+`","subscribes":["d/t"]}`)
	}
	now := time.Now()
	err := s.Store().Update(context.Background(), func(tx store.Txn) error {
		doc := `{"version":"1","items":[` + strings.Join(items, ",") + `]}`
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", "settings/subscriptions"), ldp.MediaJSON, []byte(doc), now, ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFanoutMetrics: /metrics shows the copies fan-out jobs wrote, the time
// from each publish to its job's last copy, the backlog (0 once the jobs
// are done) and the jobs' batches as local delivery attempts.
func TestFanoutMetrics(t *testing.T) {
	const subs = 5
	s := podtest.RunServer(t, pod.Options{FanoutThreshold: 2, FanoutBatch: 2})
	fanoutSubscribers(t, s, subs)
	ev := `{"recipient":"` + s.WebID("alice") + `","topic":"d/t","data":{"type":"AddAction"}}`
	for range 2 {
		r := evDo(t, evReq{method: "POST", url: s.PodRoot("producer") + "publish/?wait=30", key: evKeys.producer, ctype: "application/json", body: ev})
		if r.status != http.StatusCreated || !strings.Contains(r.body, `"copies":{"status":"done"}`) {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	waitMetrics(t, s.BaseURL(), map[string]float64{
		"podserver_fanout_copies_written_total": 2 * subs,
		"podserver_fanout_job_seconds_count":    2,
		"podserver_fanout_pending_copies":       0,
		"podserver_fanout_backlog_full_total":   0,
		// Three batches of at most 2 copies per job.
		`podserver_delivery_attempts_total{host="local",outcome="delivered"}`: 6,
	})
	m := evDo(t, evReq{method: "GET", url: s.BaseURL() + "/metrics"})
	if strings.Contains(m.body, `host="invalid"`) {
		t.Error(`fan-out batches are counted under host="invalid"`)
	}
}
