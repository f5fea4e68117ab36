// Command podserver runs a Solid-style pod server with inboxes and
// publishing, and administers its pods and keys.
//
//	podserver serve [--addr A] [--data DIR | --store postgres://...] [--base-url URL] [--pod-naming path|subdomain] [--demo]
//	podserver migrate --store postgres://...
//	podserver copy --from SRC --to DST [--force]
//	podserver pod create NAME
//	podserver pod list
//	podserver key create --pod NAME --app NAME
//	podserver key list --pod NAME
//	podserver key revoke --pod NAME ID
//
// Every flag can also be set with an environment variable PODSERVER_<FLAG>
// (upper case, '-' as '_'), e.g. PODSERVER_DATA=/var/lib/podserver.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/pod"
	"podserver/store"
	"podserver/store/pgstore"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `podserver: a Solid-style pod server with inboxes and event publishing.

Usage:
  podserver serve [flags]                 run the server (--demo for demo pods)
  podserver pod create NAME               create a pod; prints its owner key once
  podserver pod list                      list pods
  podserver key create --pod P --app A    create an app key; prints it once
  podserver key list --pod P              list a pod's keys (never their secrets)
  podserver key revoke --pod P ID         revoke a key
  podserver bench [flags]                 load-test publishing and inbox delivery
  podserver migrate --store URL           create or migrate a PostgreSQL store's schema
  podserver copy --from SRC --to DST      copy a store (Badger DIR, postgres:// URL or
                                          FILE.podbackup): move, back up, restore

Run "podserver COMMAND --help" for a command's flags. Every flag can also be
set from the environment as PODSERVER_<FLAG>, e.g. PODSERVER_DATA.
`

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context whose end stops serve as a signal does,
// so tests can run serve in process.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "pod":
		err = cmdPod(args[1:], stdout, stderr)
	case "key":
		err = cmdKey(args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(args[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(args[1:], stdout, stderr)
	case "copy":
		err = cmdCopy(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "podserver: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "podserver: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "podserver: %v\n", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// common holds the flags shared by the commands that open the store.
type common struct {
	data, storeURL, baseURL, naming string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "./data", "data directory")
	fs.StringVar(&c.storeURL, "store", "", "a postgres:// URL: keep the store in PostgreSQL, shared by every node given it, instead of in --data")
	fs.StringVar(&c.baseURL, "base-url", "", "public base URL, e.g. http://localhost:8080 (default: from --addr)")
	fs.StringVar(&c.naming, "pod-naming", pod.NamingPath, "pod URLs: path (http://HOST/{pod}/) or subdomain (http://{pod}.HOST/)")
}

// parse parses args, after applying PODSERVER_* environment defaults.
// Flags may come before or after positional arguments; the positional ones
// are left for positional.
func parse(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PODSERVER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usageError{fmt.Sprintf("invalid %s=%q: %v", env, v, serr)}
			}
		}
	})
	if err != nil {
		return err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// Leave the positional arguments where fs.Args can find them.
	return fs.Parse(append([]string{"--"}, pos...))
}

func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags:\n", help)
		fs.PrintDefaults()
	}
	return fs
}

// open builds a server over the data directory without listening, for the
// administrative commands.
func (c *common) open() (*pod.Server, error) {
	// A node name of its own: on a shared PostgreSQL store, the command
	// must not take over the delivery leases of a server running here.
	host, _ := os.Hostname()
	node := fmt.Sprintf("cli/%s/%d", host, os.Getpid())
	s, err := pod.New(pod.Options{DataDir: c.data, StoreURL: c.storeURL, BaseURL: c.baseURL, PodNaming: c.naming, Node: node})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("the data directory %s is in use by a running server: stop it first, or use its HTTP API", c.data)
	}
	return s, err
}

func shutdown(s *pod.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// serveConfig is what serve's flags and their PODSERVER_* variables
// resolve to.
type serveConfig struct {
	opts pod.Options
	demo bool
}

// parseServe parses serve's command line (after PODSERVER_* defaults) into
// the server's options; the logger writes JSON to stderr.
func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := newFlagSet("serve", "podserver serve: run the server.", stderr)
	var c common
	c.register(fs)
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	demo := fs.Bool("demo", false, "provision the demo pods (producer, crm, alice, bob) and print their demo keys; implies --allow-private-targets")
	allowPrivate := fs.Bool("allow-private-targets", false, "let webhooks, notification channels and remote inboxes reach loopback and private addresses")
	retry := fs.String("retry-schedule", "5s,5m,30m,2h,5h,10h,10h", "waits between delivery attempts to other servers and webhooks; a delivery is dead after one more failure than waits listed")
	deliveryTimeout := fs.Duration("delivery-timeout", 10*time.Second, "how long one delivery attempt to another server or a webhook may take before it is retried")
	lease := fs.Duration("delivery-lease", 0, "how long a node holds a delivery it attempts before another node on the same database may (default: twice --delivery-timeout plus 1m)")
	node := fs.String("node", "", "this node's name among the nodes sharing one --store database; a node restarted under its name takes its deliveries back at once (default: host name/--addr)")
	perHost := fs.Int("delivery-per-host", 64, "how many delivery attempts to one target host may run at once")
	commitInterval := fs.Duration("commit-interval", pod.DefaultCommitInterval, "least time between two group commits under concurrent writes (larger batches per sync); 0 commits each batch at once")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	diskReserve := fs.String("disk-reserve", "", "free space kept on the data directory's filesystem for the store's own work, e.g. 512MiB; below it writes get 507 (default: 9 memtables + 4MiB)")
	memTable := fs.String("memtable-size", "", "the store's memtable size, e.g. 64MiB; the largest transaction is 15% of it (default 32MiB)")
	if err := parse(fs, args); err != nil {
		return serveConfig{}, err
	}
	reserve, err := parseSize("--disk-reserve", *diskReserve)
	if err != nil {
		return serveConfig{}, usageError{err.Error()}
	}
	memTableSize, err := parseSize("--memtable-size", *memTable)
	if err != nil {
		return serveConfig{}, usageError{err.Error()}
	}
	if *perHost <= 0 {
		return serveConfig{}, usageError{fmt.Sprintf("invalid --delivery-per-host %d: want a positive number", *perHost)}
	}
	if *deliveryTimeout <= 0 {
		return serveConfig{}, usageError{fmt.Sprintf("invalid --delivery-timeout %s: want a positive duration, e.g. 10s", *deliveryTimeout)}
	}
	if *lease != 0 && *lease < 2**deliveryTimeout {
		return serveConfig{}, usageError{fmt.Sprintf("invalid --delivery-lease %s: want at least twice --delivery-timeout (%s)", *lease, 2**deliveryTimeout)}
	}
	schedule, err := parseSchedule(*retry)
	if err != nil {
		return serveConfig{}, usageError{err.Error()}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return serveConfig{}, usageError{fmt.Sprintf("invalid --log-level %q", *logLevel)}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	return serveConfig{demo: *demo, opts: pod.Options{Addr: *addr, DataDir: c.data, StoreURL: c.storeURL, BaseURL: c.baseURL, PodNaming: c.naming, Logger: log,
		AllowPrivateTargets: *allowPrivate || *demo, RetrySchedule: schedule, DeliveryTimeout: *deliveryTimeout,
		DeliveryLease: *lease, Node: *node,
		DeliveryPerHost: *perHost, CommitInterval: commitIntervalOption(*commitInterval),
		DiskReserve: reserve, MemTableSize: memTableSize}}, nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log := cfg.opts.Logger
	s, err := pod.New(cfg.opts)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("the data directory %s is in use by another podserver process", cfg.opts.DataDir)
	}
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		_ = shutdown(s)
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.demo {
		keys, err := s.ProvisionDemo(ctx)
		if err != nil {
			_ = shutdown(s)
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintln(stderr, "demo keys below are public, for this demo only: never use them for real data")
		for _, k := range keys {
			fmt.Fprintf(stdout, "demo key: pod=%s app=%s key=%s\n", k.Pod, k.App, k.Key)
		}
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.BaseURL())
	if cfg.demo {
		fmt.Fprintf(stdout, "console: %s (sign in with a pod name and its owner key)\n", s.ConsoleURL())
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

func cmdMigrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "podserver migrate --store URL: create or migrate the schema of a PostgreSQL store, and do nothing else (serve does it too on start).", stderr)
	storeURL := fs.String("store", "", "the store's postgres:// URL")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *storeURL == "" {
		return usageError{"migrate: --store (or PODSERVER_STORE) is required"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	applied, err := pgstore.Migrate(ctx, *storeURL)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "schema up to date")
		return nil
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	return nil
}

// commitIntervalOption maps --commit-interval to pod.Options, where 0
// means the default and a negative value means off.
func commitIntervalOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func cmdPod(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"pod: want a subcommand: create, list"}
	}
	switch args[0] {
	case "create":
		fs := newFlagSet("pod create", "podserver pod create NAME: create a pod and print its owner key (shown only once).", stderr)
		var c common
		c.register(fs)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageError{"pod create: want exactly one pod name"}
		}
		s, err := c.open()
		if err != nil {
			return err
		}
		key, err := s.CreatePod(context.Background(), fs.Arg(0))
		if cerr := shutdown(s); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		fs := newFlagSet("pod list", "podserver pod list: list pods.", stderr)
		var c common
		c.register(fs)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		s, err := c.open()
		if err != nil {
			return err
		}
		defer shutdown(s)
		pods, err := s.ListPods(context.Background())
		if err != nil {
			return err
		}
		for _, p := range pods {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", p.Name, s.PodRoot(p.Name), p.Created.Format(time.RFC3339))
		}
		return nil
	}
	return usageError{fmt.Sprintf("pod: unknown subcommand %q", args[0])}
}

func cmdKey(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"key: want a subcommand: create, list, revoke"}
	}
	sub := args[0]
	fs := newFlagSet("key "+sub, "podserver key "+sub+": manage API keys.", stderr)
	var c common
	c.register(fs)
	podName := fs.String("pod", "", "pod the key belongs to")
	app := fs.String("app", "", "app name the key identifies (key create)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *podName == "" {
		return usageError{"key " + sub + ": --pod is required"}
	}
	ctx := context.Background()
	switch sub {
	case "create":
		if *app == "" {
			return usageError{"key create: --app is required"}
		}
		s, err := c.open()
		if err != nil {
			return err
		}
		defer shutdown(s)
		if ok, err := s.PodExists(ctx, *podName); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("no pod named %q", *podName)
		}
		secret, _, err := s.Keys().Create(ctx, *podName, *app, false)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		s, err := c.open()
		if err != nil {
			return err
		}
		defer shutdown(s)
		keys, err := s.Keys().List(ctx, *podName)
		if err != nil {
			return err
		}
		for _, k := range keys {
			kind := "app"
			if k.Owner {
				kind = "owner"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", k.ID, k.App, kind, k.Created.Format(time.RFC3339))
		}
		return nil
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{"key revoke: want exactly one key id (see key list)"}
		}
		s, err := c.open()
		if err != nil {
			return err
		}
		defer shutdown(s)
		return s.Keys().Revoke(ctx, *podName, fs.Arg(0))
	}
	return usageError{fmt.Sprintf("key: unknown subcommand %q", sub)}
}

// parseSchedule reads a comma-separated list of positive durations.
func parseSchedule(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("invalid --retry-schedule %q: want positive durations separated by commas, e.g. 5s,5m,30m", v)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseSize reads a byte count with an optional binary unit (KiB, MiB,
// GiB); "" is 0, the default.
func parseSize(flagName, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid %s %q: want a positive size such as 512MiB, 2GiB or a number of bytes", flagName, v)
	}
	return n * mult, nil
}
