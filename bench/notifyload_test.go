package bench_test

import (
	"context"
	"testing"
	"time"

	"podserver/bench"
	"podserver/pod"
)

// TestRunNotifyLoad runs the notification load test small: 200 WebSocket
// subscribers on alice's inbox, every one gets every arrival. The full
// measurement (10,000 idle subscribers, latency with 1,000) is
// `go run ./cmd/notifybench`.
func TestRunNotifyLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	idle := 0
	steps, err := bench.RunNotifyLoad(context.Background(), bench.NotifyLoadOptions{
		Inbox: s.PodRoot("alice") + "inbox/", Key: "pk_demo_alice_owner_0123456789",
		Steps: []int{50, 200}, Rounds: 5, Concurrency: 8,
		Idle: func(ctx context.Context, n int) error { idle = n; return nil },
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if idle != 200 || len(steps) != 2 {
		t.Fatalf("steps %+v, idle callback at %d", steps, idle)
	}
	for _, st := range steps {
		if st.Missing != 0 || st.Received != st.Subscribers*st.Rounds {
			t.Errorf("%d subscribers: %d received, %d missing", st.Subscribers, st.Received, st.Missing)
		}
		if st.P99 <= 0 || st.P99 > 5*time.Second {
			t.Errorf("%d subscribers: p99 %v", st.Subscribers, st.P99)
		}
	}
}
