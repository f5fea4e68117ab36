package pod_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"podserver/inbox"
	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// TestClusterFanoutWaitOtherNode: a publish with ?wait through node A,
// whose event's subscriber copies are a fan-out job that node B runs (A
// runs no delivery queue), answers once B wrote them all, with the copies
// "done", rather than at its deadline with them "queued": A follows the
// job through the change feed.
func TestClusterFanoutWaitOtherNode(t *testing.T) {
	const subs = 9
	url := pgCluster.URL(t)
	opts := pod.Options{StoreURL: url, BaseURL: clusterBase, FanoutThreshold: 2, FanoutBatch: 2}
	a, b := podtest.RunServer(t, opts), podtest.RunServer(t, opts)
	pod.CloseQueue(a)

	fanoutSubscribers(t, a, subs)

	ev := `{"recipient":"` + a.WebID("alice") + `","topic":"d/t","data":{"type":"AddAction"}}`
	r := evDo(t, evReq{method: "POST", url: at(a, a.PodRoot("producer")+"publish/?wait=30"), key: evKeys.producer, ctype: "application/json", body: ev})
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if !strings.Contains(r.body, `"copies":{"status":"done"}`) {
		t.Fatalf("the ?wait answer does not report the copies done: %s", r.body)
	}
	loc := r.hdr.Get("Location")
	err := b.Store().View(context.Background(), func(rd store.Reader) error {
		for i := range subs {
			pg, err := inbox.List(rd, inbox.Path(fmt.Sprintf("sub%d", i)), 0, 100)
			if err != nil {
				return err
			}
			n := 0
			for _, it := range pg.Items {
				if strings.Contains(string(it.Body), `"id":"`+loc+`"`) {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("sub%d holds %d copies at the answer, want 1", i, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
