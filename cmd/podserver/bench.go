package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"time"

	"podserver/bench"
	"podserver/pod"
)

const benchHelp = `podserver bench: load-test publishing and inbox delivery.

By default it starts a server on a loopback port over a new temporary data
directory (on disk, durable writes), provisions the bench pods, and runs.

On PostgreSQL (--store postgres://...): the started server keeps its store
in that database instead, and the bench provisions its pods there. Give it
an empty database, or a fresh schema (search_path in the URL): the pods
bench-p0, bench-u0, ... must not exist yet, and it leaves them behind.
--nodes N starts N servers (nodes) on that one database, all with the
first node's base URL, as behind one load balancer; the publishing
connections and the inbox readers are spread round-robin over the nodes,
each request sent to its node's own address with the pods' URLs
unchanged:

  podserver bench --store postgres://user@127.0.0.1/bench --nodes 2

Against a server started elsewhere:

  podserver bench --prepare setup.json --data DIR [--base-url URL]
      provisions the bench pods into DIR (or the --store database; stop
      the server first) and writes their URLs and keys to setup.json;
  podserver serve --data DIR ...
  podserver bench --target URL --setup setup.json
      runs against it (the setup file's owner keys write the users'
      settings/subscriptions and read the subscribers' inboxes).

Across two servers (--remote): producers publish on server A to users on
server B, whose settings/subscriptions let A's producers publish and B's
subscribers subscribe, so every event travels A -> B as one signed LDN
delivery and B forwards it to --fanout subscriber inboxes. The readers
then watch the users' inboxes too; the report adds remote deliveries/s,
copies delivered/s, the queue lag (most copies acknowledged but not yet
readable while publishing, and at the end) and the drain time (end of
publishing to the last copy readable). Unpaced, the publishers can
outrun delivery, and end-to-end latency is then mostly the queue's
backlog; --rate N paces them, to measure delivery at a load it keeps up
with. By default it starts both servers
in this process (loopback ports, temporary data directories on disk,
durable writes, private targets allowed). Against servers started
elsewhere (path pod naming):

  podserver bench --remote --prepare setup.json --data DIR --base-url URL \
      --data-b DIR-B --base-url-b URL-B
      provisions the producers into DIR (server A) and the users and
      subscribers into DIR-B (server B);
  podserver serve --allow-private-targets --data DIR --addr ... (and B)
  podserver bench --remote --target URL --target-b URL-B --setup setup.json`

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
	remote := fs.Bool("remote", false, "two servers: producers on A, users and subscribers on B (see above)")
	targetB := fs.String("target-b", "", "with --remote --target: base URL of server B")
	dataB := fs.String("data-b", "", "with --remote: --data of server B")
	baseURLB := fs.String("base-url-b", "", "with --remote --prepare: --base-url of server B")
	duration := fs.Duration("duration", 10*time.Second, "how long to publish")
	drain := fs.Duration("drain", 0, "after publishing, how long to wait at most for the copies still on their way (default 5s, with --remote 2m)")
	conns := fs.Int("connections", 64, "concurrent publishing connections")
	warm := fs.Bool("warmup", false, "before the run, publish one event to each user and wait until its copies are written (the first publish to a recipient parses its settings), so the run measures publishing with warm caches")
	readInterval := fs.Duration("read-interval", 100*time.Millisecond, "past 256 watched inboxes, the least time between two rounds of a shared reader over its inboxes, as a client polling that often (0: poll again at once after a round that found copies, which takes every core the server leaves idle)")
	rate := fs.Float64("rate", 0, "pace publishing to at most this many events/s in all (0: as fast as the connections go)")
	fanout := fs.Int("fanout", 3, "subscriber inboxes each event reaches (besides the recipient's)")
	producers := fs.Int("producers", 4, "producer pods")
	users := fs.Int("users", 64, "user (recipient) pods")
	subscribers := fs.Int("subscribers", 0, "subscriber pods (default: 2 x fanout)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (servers and bench) to this file")
	storeURL := fs.String("store", "", "a postgres:// URL: the started servers (or --prepare) keep the store in this database, which should be empty or a fresh schema, instead of a data directory")
	nodes := fs.Int("nodes", 1, "with --store: start this many servers on the one database and spread the connections and readers over them")
	inMemory := fs.Bool("in-memory", false, "start the servers with their data in memory (a new directory on the tmpfs /dev/shm where there is one, else Badger's memory mode): to tell disk-bound from CPU-bound, not a durable measurement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *subscribers <= 0 {
		*subscribers = 2 * *fanout
	}
	if *fanout < 0 || *fanout > *subscribers || *conns < 1 || *producers < 1 || *users < 1 || *rate < 0 {
		return usageError{"bench: need connections, producers and users >= 1, 0 <= fanout <= subscribers and rate >= 0"}
	}
	if !*remote && (*targetB != "" || *dataB != "" || *baseURLB != "") {
		return usageError{"bench: --target-b, --data-b and --base-url-b need --remote"}
	}
	if *nodes < 1 {
		return usageError{"bench: --nodes must be >= 1"}
	}
	if *storeURL != "" && (*remote || *inMemory || *data != "" || *target != "") {
		return usageError{"bench: --store does not go with --remote, --in-memory, --data or --target"}
	}
	if *nodes > 1 && (*storeURL == "" || *prepare != "") {
		return usageError{"bench: --nodes needs --store (nodes share one PostgreSQL database) and no --prepare"}
	}
	if *drain <= 0 {
		*drain = 5 * time.Second
		if *remote {
			*drain = 2 * time.Minute
		}
	}
	sizes := bench.Sizes{Producers: *producers, Users: *users, Subscribers: *subscribers}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *prepare != "" {
		if *remote {
			return benchPrepareRemote(ctx, *prepare, sizes, *data, *baseURL, *dataB, *baseURLB)
		}
		return benchPrepare(ctx, *prepare, sizes, *data, *storeURL, *baseURL)
	}

	var setup bench.Setup
	var nodeAddrs []string // with --nodes > 1: where requests go
	var storeSize func() (int64, error)
	switch {
	case *target != "":
		if *setupFile == "" {
			return usageError{"bench --target: --setup is required (see --prepare)"}
		}
		var err error
		if setup, err = bench.ReadSetup(*setupFile); err != nil {
			return err
		}
		if *remote {
			if *targetB == "" {
				return usageError{"bench --remote --target: --target-b is required"}
			}
			if err := setup.CheckRemote(*target, *targetB); err != nil {
				return err
			}
		}
	case *remote:
		a, _, stopA, err := startBenchServer(*data, *inMemory, true, "A", stderr)
		if err != nil {
			return err
		}
		defer stopA()
		b, _, stopB, err := startBenchServer(*dataB, *inMemory, true, "B", stderr)
		if err != nil {
			return err
		}
		defer stopB()
		if setup, err = bench.ProvisionRemote(ctx, a, b, sizes); err != nil {
			return err
		}
	case *storeURL != "":
		servers, stopAll, err := startBenchNodes(*storeURL, *nodes, stderr)
		if err != nil {
			return err
		}
		defer stopAll()
		if setup, err = bench.Provision(ctx, servers[0], sizes); err != nil {
			return err
		}
		if len(servers) > 1 {
			for _, s := range servers {
				nodeAddrs = append(nodeAddrs, s.Addr())
			}
		}
	default:
		s, dir, stopS, err := startBenchServer(*data, *inMemory, false, "", stderr)
		if err != nil {
			return err
		}
		defer stopS()
		if dir != "" {
			storeSize = func() (int64, error) { return dirSize(dir) }
		}
		if setup, err = bench.Provision(ctx, s, sizes); err != nil {
			return err
		}
	}
	if err := bench.Configure(ctx, bench.NewClient(4), setup, *fanout); err != nil {
		return err
	}
	mode := "one server"
	switch {
	case *remote:
		mode = "producers on A, users and subscribers on B"
	case len(nodeAddrs) > 1:
		mode = fmt.Sprintf("%d nodes on one PostgreSQL database", len(nodeAddrs))
	case *storeURL != "":
		mode = "one server on PostgreSQL"
	}
	if *rate > 0 {
		mode += fmt.Sprintf(", paced to %.0f publishes/s", *rate)
	}
	fmt.Fprintf(stderr, "bench: %s: %d producers, %d users, %d subscribers, fan-out %d, %d connections, %s\n",
		mode, len(setup.Producers), len(setup.Users), len(setup.Subscribers), *fanout, *conns, *duration)
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
		Remote: *remote, DrainTimeout: *drain, Rate: *rate, ReadInterval: *readInterval, Warmup: *warm, Nodes: nodeAddrs, StoreSize: storeSize,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		printBench(stdout, res)
	}
	switch {
	case res.Errors > 0:
		return errors.New("bench: some requests failed")
	case !res.Drained:
		return fmt.Errorf("bench: %d of %d copies were not readable %s after publishing", res.CopiesWant-res.CopiesRead, res.CopiesWant, *drain)
	case res.CopiesRead > res.CopiesWant:
		return fmt.Errorf("bench: %d copies read, %d more than the acknowledged events make: a copy arrived twice", res.CopiesRead, res.CopiesRead-res.CopiesWant)
	}
	return nil
}

// printBench writes res for people.
func printBench(w io.Writer, res bench.Result) {
	paced := ""
	if res.Rate > 0 {
		paced = fmt.Sprintf(" (paced to %.0f/s)", res.Rate)
	}
	fmt.Fprintf(w, "publishes:       %d in %.1fs, %.0f/s%s, %d errors\n", res.Publishes, res.DurationS, res.PublishesPerS, paced, res.Errors)
	fmt.Fprintf(w, "publish latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", res.PublishP50Ms, res.PublishP99Ms, res.PublishMaxMs)
	fmt.Fprintf(w, "end to end:      p50 %.2f ms, p99 %.2f ms (%d copies read by subscribers)\n", res.E2EP50Ms, res.E2EP99Ms, res.E2ESamples)
	if res.Remote {
		fmt.Fprintf(w, "remote:          %.0f deliveries/s from A to B while publishing\n", res.RemoteDeliveriesPerS)
	} else {
		fmt.Fprintf(w, "inbox copies:    %.0f/s written\n", res.CopiesPerS)
	}
	fmt.Fprintf(w, "delivered:       %.0f copies/s readable while publishing (%d watched per event)\n", res.DeliveredPerS, res.CopiesPerEvent)
	drained := fmt.Sprintf("all %d copies readable %.0f ms after publishing stopped", res.CopiesWant, res.DrainMs)
	if !res.Drained {
		drained = fmt.Sprintf("NOT DRAINED: %d of %d copies readable after %.0f ms", res.CopiesRead, res.CopiesWant, res.DrainMs)
	}
	fmt.Fprintf(w, "queue lag:       max %d copies, %d at the end; %s\n", res.LagMax, res.LagEnd, drained)
	if res.LastCopyEvents > 0 {
		fmt.Fprintf(w, "last copy:       p50 %.2f ms, p99 %.2f ms from send until an event's last subscriber copy was read (%d events)\n", res.LastCopyP50Ms, res.LastCopyP99Ms, res.LastCopyEvents)
	}
	if res.StoreBytes != 0 {
		fmt.Fprintf(w, "storage:         %d bytes more on disk, %.0f bytes per copy written\n", res.StoreBytes, res.BytesPerCopy)
	}
	fmt.Fprintf(w, "process CPU:     %.1fs, %.0f µs per publish\n", res.ProcessCPUS, res.CPUPerPublishUs)
	if len(res.NodePublishes) > 0 {
		fmt.Fprintf(w, "per node:        %v publishes\n", res.NodePublishes)
	}
	if res.FirstError != "" {
		fmt.Fprintf(w, "first error:     %s\n", res.FirstError)
	}
}

// benchPrepare provisions the bench pods into the data directory dir, or
// the PostgreSQL database storeURL, of a stopped server reached at base,
// and writes the setup file.
func benchPrepare(ctx context.Context, file string, sizes bench.Sizes, dir, storeURL, base string) error {
	if dir == "" && storeURL == "" {
		return usageError{"bench --prepare: --data or --store is required"}
	}
	s, err := pod.New(pod.Options{DataDir: dir, StoreURL: storeURL, BaseURL: base})
	if err != nil {
		return err
	}
	setup, err := bench.Provision(ctx, s, sizes)
	if cerr := shutdown(s); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return bench.WriteSetup(file, setup)
}

// benchPrepareRemote provisions the producers into dirA (server A, reached
// at baseA) and the users and subscribers into dirB (server B, at baseB),
// and writes the setup file.
func benchPrepareRemote(ctx context.Context, file string, sizes bench.Sizes, dirA, baseA, dirB, baseB string) error {
	if dirA == "" || dirB == "" || baseA == "" || baseB == "" {
		return usageError{"bench --remote --prepare: --data, --base-url, --data-b and --base-url-b are required"}
	}
	a, err := pod.New(pod.Options{DataDir: dirA, BaseURL: baseA})
	if err != nil {
		return fmt.Errorf("server A: %w", err)
	}
	b, err := pod.New(pod.Options{DataDir: dirB, BaseURL: baseB})
	if err != nil {
		_ = shutdown(a)
		return fmt.Errorf("server B: %w", err)
	}
	setup, err := bench.ProvisionRemote(ctx, a, b, sizes)
	if err == nil {
		err = setup.CheckRemote(baseA, baseB)
	}
	if cerr := shutdown(a); err == nil && cerr != nil {
		err = fmt.Errorf("server A: %w", cerr)
	}
	if cerr := shutdown(b); err == nil && cerr != nil {
		err = fmt.Errorf("server B: %w", cerr)
	}
	if err != nil {
		return err
	}
	return bench.WriteSetup(file, setup)
}

// startBenchServer starts a server on a loopback port over dir (default: a
// new temporary directory, removed by the returned stop function) and
// returns the directory it stores in. With inMemory, that directory is on
// the tmpfs /dev/shm where there is one: the store's code path is the
// durable one (value log included) while no write waits for a disk, and
// values may be as large as on disk. Elsewhere it is Badger's memory mode
// (no directory; values up to 1 MiB).
func startBenchServer(dir string, inMemory, allowPrivate bool, name string, stderr io.Writer) (*pod.Server, string, func(), error) {
	cleanup := func() {}
	where := "data in "
	if dir == "" {
		parent := ""
		if inMemory {
			parent, where = "/dev/shm", "in memory, data in "
			if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
				parent = ""
			}
		}
		if parent != "" || !inMemory {
			tmp, err := os.MkdirTemp(parent, "podserver-bench-")
			if err != nil {
				return nil, "", nil, err
			}
			cleanup = func() { _ = os.RemoveAll(tmp) }
			dir = tmp
		}
	}
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: dir, InMemory: dir == "", AllowPrivateTargets: allowPrivate})
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	stop := func() {
		_ = shutdown(s)
		cleanup()
	}
	if err := s.Start(); err != nil {
		stop()
		return nil, "", nil, err
	}
	label := "server"
	if name != "" {
		label += " " + name
	}
	where += dir
	if dir == "" {
		where = "in memory (Badger memory mode: values up to 1 MiB)"
	}
	fmt.Fprintf(stderr, "bench: %s at %s, %s\n", label, s.BaseURL(), where)
	return s, dir, stop, nil
}

// startBenchNodes starts n servers on loopback ports over the PostgreSQL
// database storeURL, all with the first one's base URL (so pod URLs and
// WebIDs agree whichever node serves a request), each under its own node
// name. The returned function stops them all.
func startBenchNodes(storeURL string, n int, stderr io.Writer) ([]*pod.Server, func(), error) {
	var servers []*pod.Server
	stop := func() {
		for _, s := range servers {
			_ = shutdown(s)
		}
	}
	base := ""
	for i := range n {
		s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", StoreURL: storeURL, BaseURL: base,
			Node: fmt.Sprintf("bench-%d-node-%d", os.Getpid(), i)})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("node %d: %w", i, err)
		}
		servers = append(servers, s)
		if err := s.Start(); err != nil {
			stop()
			return nil, nil, fmt.Errorf("node %d: %w", i, err)
		}
		if i == 0 {
			base = s.BaseURL()
		}
		fmt.Fprintf(stderr, "bench: node %d at %s, base URL %s, store in PostgreSQL\n", i, s.Addr(), base)
	}
	return servers, stop, nil
}

// dirSize returns the bytes the files under dir take.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bench: size of %s: %w", dir, err)
	}
	return n, nil
}
