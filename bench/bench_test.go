package bench_test

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"podserver/bench"
	"podserver/pod"
)

type provisioner struct{ s *pod.Server }

func (p provisioner) CreatePod(ctx context.Context, name string) (string, error) {
	return p.s.CreatePod(ctx, name)
}

func (p provisioner) CreateAppKey(ctx context.Context, podName, app string) (string, error) {
	secret, _, err := p.s.Keys().Create(ctx, podName, app, false)
	return secret, err
}

func (p provisioner) PodRoot(name string) string { return p.s.PodRoot(name) }

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
	setup, err := bench.Provision(ctx, provisioner{s}, bench.Sizes{Producers: 2, Users: 4, Subscribers: 6})
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
