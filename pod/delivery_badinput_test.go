package pod_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/pod"
)

// hookSettings returns alice's settings/subscriptions: producer may
// publish realestate/contact, and crm subscribes with each webhook target.
func hookSettings(s *pod.Server, targets ...string) string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	items := []string{`{"type":"Subscription","agent":"` + s.WebID("producer") + `","publishes":["realestate/contact"]}`}
	for _, t := range targets {
		items = append(items, `{"type":"Subscription","agent":"`+s.WebID("crm")+`","subscribes":["realestate/contact"],"target":"`+t+`","secret":"`+secret+`"}`)
	}
	return `{"version":"1","items":[` + strings.Join(items, ",") + `]}`
}

func putSettings(t testing.TB, s *pod.Server, body string) evResp {
	t.Helper()
	return evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "settings/subscriptions", key: evKeys.alice, body: body, ctype: ldp.MediaJSONLD})
}

// A webhook target that never answers holds only its own per-host lane:
// events to a healthy target all arrive while requests to the dead one
// are still hanging.
func TestDeliveryDeadTargetDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	var hanging atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer dead.Close()
	defer close(release)
	var mu sync.Mutex
	got := map[string]bool{}
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ce struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&ce)
		mu.Lock()
		got[ce.ID] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer healthy.Close()

	// Attempts are not cut short during the test.
	s, _ := startServer(t, pod.Options{AllowPrivateTargets: true, DeliveryTimeout: time.Minute})
	if r := putSettings(t, s, hookSettings(s, dead.URL+"/cb", healthy.URL+"/cb")); r.status >= 300 {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	// More events than the dead host's lane runs at once (8) plus its
	// backlog (64).
	const n = 100
	var ids []string
	for i := range n {
		r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{"n":`+string(rune('0'+i%10))+`}}`)
		if r.status != http.StatusCreated {
			t.Fatalf("publish %d: %d %s", i, r.status, r.body)
		}
		ids = append(ids, r.hdr.Get("Location"))
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healthy webhook got %d of %d events while the dead one hangs", k, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := hanging.Load(); h == 0 || h > 8 {
		t.Errorf("%d requests hang at the dead webhook; want 1 to 8 (the per-host bound)", h)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if !got[id] {
			t.Errorf("healthy webhook did not get %s", id)
		}
	}
}
