package pod_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// ?wait gives, for each webhook the publishing pod owns, the status and
// the start of the body of its answer to the first attempt, refusals
// included.
func TestDeliveryWaitWebhookResponse(t *testing.T) {
	long := strings.Repeat("y", 10<<10)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true,"name":"Zoë"}`)
		case "/long":
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, long)
		default:
			http.Error(w, "bad hook config", http.StatusBadRequest)
		}
	}))
	defer hooks.Close()
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	subscribeHooks(t, s, hooks.URL+"/json", hooks.URL+"/long", hooks.URL+"/refuse")
	r := publishOwnWait(t, s, 5)
	type response struct {
		Status    int
		Body      string
		Truncated bool
	}
	var res struct {
		Deliveries []struct {
			Target, Status string
			Response       *response
		}
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	want := map[string]struct {
		status string
		resp   response
	}{
		s.PodRoot("alice") + "inbox/": {"delivered", response{}},
		hooks.URL + "/json":           {"delivered", response{200, `{"ok":true,"name":"Zoë"}`, false}},
		hooks.URL + "/long":           {"delivered", response{202, long[:4096], true}},
		hooks.URL + "/refuse":         {"failed", response{400, "bad hook config\n", false}},
	}
	if len(res.Deliveries) != len(want) {
		t.Fatalf("deliveries: %s", r.body)
	}
	for _, d := range res.Deliveries {
		w, ok := want[d.Target]
		var got response
		if d.Response != nil {
			got = *d.Response
		}
		if !ok || d.Status != w.status || got != w.resp {
			t.Errorf("%s: %s %+v, want %s %+v", d.Target, d.Status, got, w.status, w.resp)
		}
	}
}

// /metrics shows delivery attempts by host and outcome, the delivery
// latency and the queue depth.
func TestDeliveryMetrics(t *testing.T) {
	hooks := goneHooks(t, "/gone")
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	subscribeHooks(t, s, hooks.URL+"/ok", hooks.URL+"/gone")
	for range 3 {
		publishWait(t, s, 5)
	}
	host := strings.TrimPrefix(hooks.URL, "http://")
	waitMetrics(t, s.BaseURL(), map[string]float64{
		`podserver_delivery_attempts_total{host="` + host + `",outcome="delivered"}`: 3,
		`podserver_delivery_attempts_total{host="` + host + `",outcome="dead"}`:      3,
		`podserver_delivery_latency_seconds_count`:                                   3,
		`podserver_delivery_queue_depth{status="dead"}`:                              3,
		`podserver_delivery_queue_depth{status="pending"}`:                           0,
	})
}
