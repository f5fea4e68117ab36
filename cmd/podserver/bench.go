package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"podserver/bench"
	"podserver/pod"
)

const benchHelp = `podserver bench: load-test publishing and inbox delivery.

By default it starts a server on a loopback port over a new temporary data
directory (on disk, durable writes), provisions the bench pods, and runs.
Against a server started elsewhere:

  podserver bench --prepare setup.json --data DIR [--base-url URL]
      provisions the bench pods into DIR (stop the server first) and
      writes their URLs and keys to setup.json;
  podserver serve --data DIR ...
  podserver bench --target URL --setup setup.json
      runs against it (the setup file's owner keys write the users'
      settings/subscriptions and read the subscribers' inboxes).`

// podProvisioner creates bench pods on a pod.Server.
type podProvisioner struct{ s *pod.Server }

func (p podProvisioner) CreatePod(ctx context.Context, name string) (string, error) {
	return p.s.CreatePod(ctx, name)
}

func (p podProvisioner) CreateAppKey(ctx context.Context, podName, app string) (string, error) {
	secret, _, err := p.s.Keys().Create(ctx, podName, app, false)
	return secret, err
}

func (p podProvisioner) PodRoot(name string) string { return p.s.PodRoot(name) }

// cmdBench runs the load tool.
func cmdBench(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "notify" {
		return cmdBenchNotify(args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", benchHelp, stderr)
	target := fs.String("target", "", "base URL of a running server (needs --setup); default: start one")
	setupFile := fs.String("setup", "", "setup file written by --prepare (with --target)")
	prepare := fs.String("prepare", "", "provision the bench pods into --data and write the setup file here, then exit")
	data := fs.String("data", "", "data directory for --prepare, or for the started server (default: a new temporary directory, removed afterwards)")
	baseURL := fs.String("base-url", "", "with --prepare: the base URL the server will be reached at")
	duration := fs.Duration("duration", 10*time.Second, "how long to publish")
	conns := fs.Int("connections", 64, "concurrent publishing connections")
	fanout := fs.Int("fanout", 3, "subscriber inboxes each event reaches (besides the recipient's)")
	producers := fs.Int("producers", 4, "producer pods")
	users := fs.Int("users", 64, "user (recipient) pods")
	subscribers := fs.Int("subscribers", 0, "subscriber pods (default: 2 x fanout)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (server and bench) to this file")
	inMemory := fs.Bool("in-memory", false, "start the server over an in-memory store (no fsync): to tell disk-bound from CPU-bound, not a durable measurement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *subscribers <= 0 {
		*subscribers = 2 * *fanout
	}
	if *fanout < 0 || *fanout > *subscribers || *conns < 1 || *producers < 1 || *users < 1 {
		return usageError{"bench: need connections, producers and users >= 1 and 0 <= fanout <= subscribers"}
	}
	sizes := bench.Sizes{Producers: *producers, Users: *users, Subscribers: *subscribers}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *prepare != "" {
		if *data == "" {
			return usageError{"bench --prepare: --data is required"}
		}
		s, err := pod.New(pod.Options{DataDir: *data, BaseURL: *baseURL})
		if err != nil {
			return err
		}
		setup, err := bench.Provision(ctx, podProvisioner{s}, sizes)
		if cerr := shutdown(s); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return bench.WriteSetup(*prepare, setup)
	}

	var setup bench.Setup
	if *target != "" {
		if *setupFile == "" {
			return usageError{"bench --target: --setup is required (see --prepare)"}
		}
		var err error
		if setup, err = bench.ReadSetup(*setupFile); err != nil {
			return err
		}
	} else {
		dir := *data
		if dir == "" {
			tmp, err := os.MkdirTemp("", "podserver-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: dir, InMemory: *inMemory})
		if err != nil {
			return err
		}
		defer shutdown(s)
		if err := s.Start(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench: server at %s, data in %s\n", s.BaseURL(), dir)
		if setup, err = bench.Provision(ctx, podProvisioner{s}, sizes); err != nil {
			return err
		}
	}
	if err := bench.Configure(ctx, bench.NewClient(4), setup, *fanout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench: %d producers, %d users, %d subscribers, fan-out %d, %d connections, %s\n",
		len(setup.Producers), len(setup.Users), len(setup.Subscribers), *fanout, *conns, *duration)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.Run(ctx, bench.Config{
		Setup: setup, Duration: *duration, Connections: *conns, Fanout: *fanout, Progress: stderr,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "publishes:       %d in %.1fs, %.0f/s, %d errors\n", res.Publishes, res.DurationS, res.PublishesPerS, res.Errors)
	fmt.Fprintf(stdout, "publish latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", res.PublishP50Ms, res.PublishP99Ms, res.PublishMaxMs)
	fmt.Fprintf(stdout, "end to end:      p50 %.2f ms, p99 %.2f ms (%d copies read by subscribers)\n", res.E2EP50Ms, res.E2EP99Ms, res.E2ESamples)
	fmt.Fprintf(stdout, "inbox copies:    %.0f/s written\n", res.CopiesPerS)
	fmt.Fprintf(stdout, "process CPU:     %.1fs, %.0f µs per publish\n", res.ProcessCPUS, res.CPUPerPublishUs)
	if res.FirstError != "" {
		fmt.Fprintf(stdout, "first error:     %s\n", res.FirstError)
	}
	if res.Errors > 0 {
		return errors.New("bench: some requests failed")
	}
	return nil
}
