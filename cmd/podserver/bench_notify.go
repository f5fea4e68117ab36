package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"podserver/bench"
	"podserver/pod"
)

const benchNotifyHelp = `podserver bench notify: Solid Notifications load.

Opens idle WebSocketChannel2023 subscribers on one inbox, step by step
(--steps), and at each step posts --rounds items to the inbox and measures
the time from the POST to the Add notification at every subscriber (p50,
p99). Without --target it starts a server in this process (on-disk store in
a temporary directory, demo pods) and also reports heap and stack memory per
idle subscriber; that figure includes the subscribers' own client side, so
it overstates the server's share (cmd/notifybench measures the server alone
in a separate process).`

// cmdBenchNotify runs bench.RunNotifyLoad.
func cmdBenchNotify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench notify", benchNotifyHelp, stderr)
	target := fs.String("target", "", "inbox URL of a running server, e.g. http://localhost:8080/alice/inbox/ (needs --key)")
	key := fs.String("key", "", "API key with Read and Append on the --target inbox")
	steps := fs.String("steps", "1000", "comma-separated subscriber counts, e.g. 1000,10000")
	rounds := fs.Int("rounds", 20, "timed inbox arrivals per step")
	jsonOut := fs.Bool("json", false, "print one JSON object per step")
	if err := parse(fs, args); err != nil {
		return err
	}
	var counts []int
	for _, f := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return usageError{fmt.Sprintf("bench notify: bad --steps %q", *steps)}
		}
		counts = append(counts, n)
	}
	bench.RaiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inbox, apiKey := *target, *key
	var base runtime.MemStats
	measure := inbox == ""
	if measure {
		dir, err := os.MkdirTemp("", "podserver-bench-notify-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: dir})
		if err != nil {
			return err
		}
		if err := s.Start(); err != nil {
			return err
		}
		defer shutdown(s)
		if _, err := s.ProvisionDemo(ctx); err != nil {
			return err
		}
		inbox, apiKey = s.PodRoot("alice")+"inbox/", "pk_demo_alice_owner_0123456789"
		runtime.GC()
		runtime.ReadMemStats(&base)
	} else if apiKey == "" {
		return usageError{"bench notify: --target needs --key"}
	}
	perConn := map[int]float64{}
	o := bench.NotifyLoadOptions{
		Inbox: inbox, Key: apiKey, Steps: counts, Rounds: *rounds,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) },
		Idle: func(_ context.Context, n int) error {
			if measure {
				runtime.GC()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				used := float64(m.HeapInuse+m.StackInuse) - float64(base.HeapInuse+base.StackInuse)
				perConn[n] = used / float64(n)
			}
			return nil
		},
	}
	res, err := bench.RunNotifyLoad(ctx, o)
	if err != nil {
		return err
	}
	for _, st := range res {
		row := map[string]any{
			"subscribers": st.Subscribers, "rounds": st.Rounds, "received": st.Received, "missing": st.Missing,
			"p50_ms": ms(st.P50), "p99_ms": ms(st.P99), "max_ms": ms(st.Max),
		}
		if b, ok := perConn[st.Subscribers]; ok {
			row["bytes_per_idle_subscriber"] = int(b)
		}
		if *jsonOut {
			b, _ := json.Marshal(row)
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintf(stdout, "subscribers=%d p50=%.1fms p99=%.1fms max=%.1fms received=%d missing=%d", st.Subscribers, ms(st.P50), ms(st.P99), ms(st.Max), st.Received, st.Missing)
		if b, ok := perConn[st.Subscribers]; ok {
			fmt.Fprintf(stdout, " memory/idle-subscriber=%.1fKiB (server and client)", b/1024)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
