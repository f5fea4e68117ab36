package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"podserver/bench"
	"podserver/pod"
)

// A short run against a server in this process: every publish succeeds and
// every subscriber copy is read.
func TestRun(t *testing.T) {
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	setup, err := bench.Provision(ctx, s, bench.Sizes{Producers: 2, Users: 4, Subscribers: 6})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "setup.json")
	if err := bench.WriteSetup(file, setup); err != nil {
		t.Fatal(err)
	}
	if back, err := bench.ReadSetup(file); err != nil || !reflect.DeepEqual(back, setup) {
		t.Fatalf("setup file round trip: %v", err)
	}
	if err := bench.Configure(ctx, bench.NewClient(2), setup, 3); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := bench.Run(ctx, bench.Config{Setup: setup, Duration: 1500 * time.Millisecond, Connections: 8, Fanout: 3, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Publishes == 0 || res.Errors != 0 || res.PublishP99Ms <= 0 || res.E2EP99Ms <= 0 {
		t.Fatalf("result: %+v", res)
	}
	if res.SubscriberSeen != res.Publishes*3 {
		t.Errorf("subscribers read %d copies of %d events, want 3 each", res.SubscriberSeen, res.Publishes)
	}
	if !strings.Contains(progress.String(), "publishes/s") {
		t.Errorf("no progress line: %q", progress.String())
	}
}

func TestSubscribersOf(t *testing.T) {
	if got := bench.SubscribersOf(5, 3, 6); !reflect.DeepEqual(got, []int{5, 0, 1}) {
		t.Fatal(got)
	}
}

func TestParsePage(t *testing.T) {
	pg, err := bench.ParsePageForTest([]byte(`{"@context":"x","id":"u","contains":[{"url":"a","data":{"type":"BenchAction","sent_ns":17,"n":1}},{"url":"b","data":{"sent_ns":42}},{"url":"c","x":1}],"next":"00000000000000ff"}`))
	if err != nil || pg.Items != 3 || len(pg.Sent) != 2 || pg.Sent[0] != 17 || pg.Sent[1] != 42 || pg.Next != "00000000000000ff" {
		t.Fatalf("%+v %v", pg, err)
	}
	if _, err := bench.ParsePageForTest([]byte(`{"error":"x"}`)); err == nil {
		t.Fatal("page without next accepted")
	}
}

// startRemote starts a server that may deliver to loopback addresses.
func startRemote(t *testing.T) *pod.Server {
	t.Helper()
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AllowPrivateTargets: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// A short run across two servers: producers on A, users and subscribers on
// B. Every acknowledged event arrives in its recipient's inbox and fanout
// subscribers' inboxes on B, and the result says so.
func TestRunRemote(t *testing.T) {
	a, b := startRemote(t), startRemote(t)
	ctx := context.Background()
	setup, err := bench.ProvisionRemote(ctx, a, b, bench.Sizes{Producers: 2, Users: 3, Subscribers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.CheckRemote(a.BaseURL(), b.BaseURL()); err != nil {
		t.Fatal(err)
	}
	if err := setup.CheckRemote(b.BaseURL(), a.BaseURL()); err == nil {
		t.Error("CheckRemote accepted servers A and B swapped")
	}
	const fanout = 2
	if err := bench.Configure(ctx, bench.NewClient(2), setup, fanout); err != nil {
		t.Fatal(err)
	}
	// Paced: event n is sent only when it falls due, (n-1)/rate seconds
	// into the run, before the run's end: at most rate events in 1s.
	const rate = 300
	res, err := bench.Run(ctx, bench.Config{Setup: setup, Duration: time.Second, Connections: 4, Fanout: fanout,
		Remote: true, DrainTimeout: 30 * time.Second, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Publishes == 0 || res.Errors != 0 || res.FirstError != "" {
		t.Fatalf("publishes %d, errors %d (%s)", res.Publishes, res.Errors, res.FirstError)
	}
	if res.Publishes > rate || res.Rate != rate {
		t.Errorf("%d publishes in 1s at rate %v (reported %v)", res.Publishes, float64(rate), res.Rate)
	}
	if !res.Drained || res.CopiesPerEvent != fanout+1 || res.CopiesWant != res.Publishes*(fanout+1) || res.CopiesRead != res.CopiesWant {
		t.Errorf("copies: drained %v, %d per event, want %d, read %d (of %d events)",
			res.Drained, res.CopiesPerEvent, res.CopiesWant, res.CopiesRead, res.Publishes)
	}
	if res.RecipientSeen != res.Publishes || res.SubscriberSeen != res.Publishes*fanout {
		t.Errorf("read %d recipient and %d subscriber copies of %d events, want 1 and %d each",
			res.RecipientSeen, res.SubscriberSeen, res.Publishes, fanout)
	}
	if res.E2ESamples != res.SubscriberSeen || res.E2EP50Ms <= 0 || res.E2EP99Ms < res.E2EP50Ms {
		t.Errorf("end to end: %d samples, p50 %v, p99 %v", res.E2ESamples, res.E2EP50Ms, res.E2EP99Ms)
	}
	if res.LagEnd < 0 || res.LagMax < res.LagEnd || res.LagMax > res.CopiesWant || res.DrainMs < 0 ||
		(res.LagEnd == 0) != (res.DrainMs == 0) {
		t.Errorf("lag: max %d, end %d, drain %v ms", res.LagMax, res.LagEnd, res.DrainMs)
	}
	if res.DeliveredPerS <= 0 || res.RemoteDeliveriesPerS <= 0 || res.RemoteDeliveriesPerS > res.DeliveredPerS {
		t.Errorf("rates: %v copies/s, %v remote deliveries/s", res.DeliveredPerS, res.RemoteDeliveriesPerS)
	}
	b2, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b2, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"remote", "delivered_copies_per_s", "remote_deliveries_per_s", "recipient_copies_read",
		"copies_per_event", "copies_want", "copies_read", "lag_max", "lag_end", "drain_ms", "drained", "e2e_p99_ms"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("JSON result without %s: %s", f, b2)
		}
	}
}
