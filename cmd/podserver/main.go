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
//	podserver bench [flags]
//	podserver --version
//
// Every flag can also be set with an environment variable PODSERVER_<FLAG>
// (upper case, '-' as '_'), e.g. PODSERVER_DATA=/var/lib/podserver.
//
// The conventions of every command: --help (or -h) prints the command's
// own usage, flags and arguments to stdout and exits 0; a wrong command
// line (unknown flag or command, a value that does not parse, a missing or
// extra argument) prints the error to stderr and exits 2; an error while
// running (a missing data directory, an unknown pod, a store in use)
// exits 1.
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
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
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
  podserver --version                     print the version and VCS revision

Run "podserver COMMAND --help" for a command's flags and arguments. Every flag
can also be set from the environment as PODSERVER_<FLAG>, e.g. PODSERVER_DATA.
Exit status: 0 on success, 2 for a wrong command line, 1 for any other error.
`

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context whose end stops serve as a signal does,
// so tests can run serve in process.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		// "help pod create" is "pod create --help".
		return runContext(ctx, append(slices.Clone(args[1:]), "--help"), stdout, stderr)
	case "-version", "--version", "version":
		if len(args) > 1 {
			return report(stderr, args, usageError{fmt.Sprintf("%s takes no arguments", args[0])})
		}
		fmt.Fprint(stdout, versionText())
		return 0
	}
	// Each command gets a stderr that also carries stdout, where its flag
	// set prints --help (see newFlagSet).
	errw := cmdStderr{Writer: stderr, stdout: stdout}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, errw)
	case "pod":
		err = cmdPod(ctx, args[1:], stdout, errw)
	case "key":
		err = cmdKey(ctx, args[1:], stdout, errw)
	case "bench":
		err = cmdBench(args[1:], stdout, errw)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, errw)
	case "copy":
		err = cmdCopy(ctx, args[1:], stdout, errw)
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	return report(stderr, args, err)
}

// report prints err for the command line args and returns the exit code:
// 0 for none or --help, 2 for a usage error, 1 for any other.
func report(stderr io.Writer, args []string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "podserver: %v\n", err)
	var ue usageError
	if !errors.As(err, &ue) {
		return 1
	}
	if cmd := commandName(args); cmd != "" {
		fmt.Fprintf(stderr, "Run \"podserver %s --help\" for usage.\n", cmd)
	} else {
		fmt.Fprint(stderr, "Run \"podserver --help\" for usage.\n")
	}
	return 2
}

// subcommands returns the subcommands of command cmd, and whether cmd is a
// command.
func subcommands(cmd string) ([]string, bool) {
	switch cmd {
	case "serve", "migrate", "copy":
		return nil, true
	case "pod":
		return []string{"create", "list", "disable", "enable", "delete"}, true
	case "key":
		return []string{"create", "list", "revoke"}, true
	case "bench":
		return []string{"notify"}, true
	}
	return nil, false
}

// commandName returns the command (and subcommand) args names, or "" when
// the first argument is no command.
func commandName(args []string) string {
	if len(args) == 0 {
		return ""
	}
	subs, ok := subcommands(args[0])
	if !ok {
		return ""
	}
	if len(args) > 1 && slices.Contains(subs, args[1]) {
		return args[0] + " " + args[1]
	}
	return args[0]
}

// usageError is a wrong command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// cmdStderr is the stderr runContext hands each command. It carries the
// command's stdout too, because a command's flag set gets only stderr
// (newFlagSet(name, help, stderr)) but prints --help to stdout.
type cmdStderr struct {
	io.Writer
	stdout io.Writer
}

// helpOutput returns where a flag set whose output is w prints --help.
func helpOutput(w io.Writer) io.Writer {
	if c, ok := w.(cmdStderr); ok {
		return c.stdout
	}
	return w
}

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

// parse parses args, after applying PODSERVER_* environment defaults, and
// refuses positional arguments. Usage errors are usageErrors; --help
// prints the flag set's usage to stdout (see cmdStderr) and returns
// flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	return parseArgs(fs, args)
}

// parseArgs is parse for a command that takes exactly the positional
// arguments names lists (e.g. "NAME"), which fs.Args then returns. Flags
// may come before or after them.
func parseArgs(fs *flag.FlagSet, args []string, names ...string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PODSERVER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if fs.Set(f.Name, v) != nil {
				err = usageError{fmt.Sprintf("%s: invalid %s=%q: want %s", fs.Name(), env, v, flagType(f))}
			}
		}
	})
	if err != nil {
		return err
	}
	// The flag package prints errors and usage itself; these are printed
	// here instead: usage to stdout for --help, errors by runContext.
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(helpOutput(out))
				usage()
				return err
			}
			return usageError{fmt.Sprintf("%s: %s", fs.Name(), flagError(fs, err))}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(pos) > len(names) && len(names) == 0:
		return usageError{fmt.Sprintf("%s: unexpected argument %q: it takes none, only flags", fs.Name(), pos[0])}
	case len(pos) > len(names):
		return usageError{fmt.Sprintf("%s: unexpected argument %q after %s", fs.Name(), pos[len(names)], strings.Join(names, " "))}
	case len(pos) < len(names):
		return usageError{fmt.Sprintf("%s: missing %s", fs.Name(), strings.Join(names[len(pos):], " "))}
	}
	// Leave the positional arguments where fs.Args can find them.
	return fs.Parse(append([]string{"--"}, pos...))
}

// flagError returns the flag package's parse error, naming the type the
// flag wants when the value did not parse.
func flagError(fs *flag.FlagSet, err error) string {
	m := regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-([A-Za-z0-9-]+)`).FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	if f := fs.Lookup(m[2]); f != nil {
		return fmt.Sprintf("invalid --%s %s: want %s", f.Name, m[1], flagType(f))
	}
	return err.Error()
}

// flagType describes the values flag f accepts, for error messages.
func flagType(f *flag.Flag) string {
	name, _ := flag.UnquoteUsage(&flag.Flag{Value: f.Value})
	switch name {
	case "":
		return "a boolean: true or false"
	case "duration":
		return "a duration such as 10s, 5m or 1h30m"
	case "int":
		return "an integer"
	case "uint":
		return "a non-negative integer"
	case "float":
		return "a number"
	}
	return "a " + name
}

// newFlagSet returns the flag set of a command. help is its usage: the
// command line it takes and what it does; --help prints it with the flags,
// to stdout when stderr comes from runContext.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags (each also PODSERVER_<FLAG> in the environment):\n", help)
		fs.PrintDefaults()
	}
	return fs
}

// open builds a server over the data directory (or --store) without
// listening, for the administrative commands. Unlike serve, they never
// create a data directory: a missing one is most likely a mistyped --data.
func (c *common) open() (*pod.Server, error) {
	if c.storeURL == "" {
		if err := checkDataDir(c.data); err != nil {
			return nil, err
		}
	}
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

// checkDataDir returns an error unless dir is a data directory: one that
// holds a store (Badger keeps a MANIFEST file in it), or an empty
// directory, where the store is created.
func checkDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no data directory %s: give --data (or PODSERVER_DATA) the directory serve uses; serve creates it", dir)
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--data %s is a file, not a data directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("--data %s is not a podserver data directory (it holds other files and no store)", dir)
	}
	return nil
}

// podMustExist returns an error unless s has a pod named name.
func podMustExist(ctx context.Context, s *pod.Server, name string) error {
	ok, err := s.PodExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no pod named %q (podserver pod list lists them)", name)
	}
	return nil
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
	fs := newFlagSet("serve", "Usage: podserver serve [flags]\n\nRun the server. It creates the data directory (--data) if it does not exist.\nWith --demo it provisions the demo pods and, on every start, puts them back\nas first provisioned (content, inbox, settings, ACLs and keys), so the\nREADME's walk-through can be repeated.", stderr)
	var c common
	c.register(fs)
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	demo := fs.Bool("demo", false, "provision the demo pods (producer, crm, alice, bob), or reset them to their documented state, and print their demo keys; implies --allow-private-targets")
	allowPrivate := fs.Bool("allow-private-targets", false, "let webhooks, notification channels and remote inboxes reach loopback and private addresses")
	remoteContexts := fs.Bool("jsonld-remote-contexts", true, "fetch the remote JSON-LD contexts that written RDF names beyond the built-in ones (1 MiB, 5s, cached for an hour); false: only the built-in ones can be used")
	retry := fs.String("retry-schedule", "5s,5m,30m,2h,5h,10h,10h", "waits between delivery attempts to other servers and webhooks; a delivery is dead after one more failure than waits listed")
	deliveryTimeout := fs.Duration("delivery-timeout", 10*time.Second, "how long one delivery attempt to another server or a webhook may take before it is retried")
	lease := fs.Duration("delivery-lease", 0, "how long a node holds a delivery it attempts before another node on the same database may (default: twice --delivery-timeout plus 1m)")
	node := fs.String("node", "", "this node's name among the nodes sharing one --store database; a node restarted under its name takes its deliveries back at once (default: host name/--addr)")
	perHost := fs.Int("delivery-per-host", 64, "how many delivery attempts to one target host may run at once")
	commitInterval := fs.Duration("commit-interval", pod.DefaultCommitInterval, "least time between two group commits under concurrent writes (larger batches per sync); 0 commits each batch at once")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	diskReserve := fs.String("disk-reserve", "", "free space kept on the data directory's filesystem for the store's own work, e.g. 512MiB; below it writes get 507 (default: 9 memtables + 4MiB)")
	memTable := fs.String("memtable-size", "", "the store's memtable size, e.g. 64MiB; the largest transaction is 15% of it (default 32MiB)")
	fanoutThreshold := fs.Int("fanout-threshold", pod.DefaultFanoutThreshold, "the most subscriber inboxes whose copies a publish writes before it answers; past it a durable job writes them after the answer (negative: no bound)")
	fanoutBatch := fs.Int("fanout-batch", pod.DefaultFanoutBatch, "copies a fan-out job writes per transaction")
	fanoutMaxPending := fs.Int("fanout-max-pending", pod.DefaultFanoutMaxPending, "the most copies fan-out jobs may have yet to write, across the nodes of a store; a publish that would queue more waits up to 10s, then gets 503 (negative: no bound)")
	fanoutLag := fs.Duration("fanout-lag", 0, "how long after its publish a fan-out job's copies yield to publishes (0: never; they queue with publishes, so publishers that outpace them wait)")
	aliases := fs.String("alias", "", "other names of this server, comma-separated hosts or base URLs (e.g. pods.internal,10.0.0.5:8080): WebIDs naming it by them are local; localhost and 127.0.0.1 need no listing")
	operatorKey := fs.String("operator-key", "", "the operator key of the /admin/ API (at least 16 characters; stored hashed); default: one made at first start and printed once")
	maxConns := fs.Int("max-connections", 0, "the most connections the server holds at once; past it the oldest idle keep-alive connection is closed to make room, or the new one when none is idle (default: the open-file limit less 1024; negative: no bound)")
	maxConnsPerIP := fs.Int("max-connections-per-ip", 0, "the most connections from one client address, enforced the same way (default 1024; negative: no bound)")
	openRegistration := fs.Bool("open-registration", false, "let anyone create a pod (POST /admin/register, and a page in the console), rate-limited")
	if err := parse(fs, args); err != nil {
		return serveConfig{}, err
	}
	var aliasList []string
	for _, a := range strings.Split(*aliases, ",") {
		if a = strings.TrimSpace(a); a != "" {
			aliasList = append(aliasList, a)
		}
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
		AllowPrivateTargets: *allowPrivate || *demo, NoRemoteContexts: !*remoteContexts, RetrySchedule: schedule, DeliveryTimeout: *deliveryTimeout,
		DeliveryLease: *lease, Node: *node,
		DeliveryPerHost: *perHost, CommitInterval: commitIntervalOption(*commitInterval),
		DiskReserve: reserve, MemTableSize: memTableSize,
		Aliases: aliasList, OperatorKey: *operatorKey, OpenRegistration: *openRegistration,
		FanoutThreshold: *fanoutThreshold, FanoutBatch: *fanoutBatch, FanoutLag: *fanoutLag, FanoutMaxPending: *fanoutMaxPending,
		MaxConns: *maxConns, MaxConnsPerIP: *maxConnsPerIP}}, nil
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
		keys, err := s.ResetDemo(ctx)
		if err != nil {
			_ = shutdown(s)
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintln(stderr, "demo keys and password below are public, for this demo only: never use them for real data")
		var pods []string
		for _, k := range keys {
			fmt.Fprintf(stdout, "demo key: pod=%s app=%s key=%s\n", k.Pod, k.App, k.Key)
			if !slices.Contains(pods, k.Pod) {
				pods = append(pods, k.Pod)
			}
		}
		fmt.Fprintf(stdout, "demo password: pods=%s password=%s\n", strings.Join(pods, ","), pod.DemoPassword)
	}
	if k := s.FirstOperatorKey(); k != "" {
		fmt.Fprintf(stderr, "operator key (the /admin/ API; shown once, stored hashed): %s\n", k)
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.BaseURL())
	if cfg.demo {
		fmt.Fprintf(stdout, "console: %s (sign in with a pod name and its owner key)\n", s.ConsoleURL())
		fmt.Fprintf(stdout, "Solid-OIDC issuer: %s (apps log in with a pod name and the demo password, or its owner key)\n", s.Issuer())
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "Usage: podserver migrate --store URL\n\nCreate or migrate the schema of a PostgreSQL store, and do nothing else\n(serve does it too on start).", stderr)
	storeURL := fs.String("store", "", "the store's postgres:// URL")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *storeURL == "" {
		return usageError{"migrate: --store (or PODSERVER_STORE) is required"}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
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

const podHelp = `Usage:
  podserver pod create [flags] NAME   create a pod; prints its owner key once
  podserver pod list [flags]          list pods: name, root URL, creation time, state
  podserver pod disable [flags] NAME  refuse every request to a pod, keeping its data
  podserver pod enable [flags] NAME   serve a disabled pod again
  podserver pod delete [flags] NAME   delete a pod and all its data

Each works on the data directory (--data, --store) while no server holds
it, or through a running server's operator API with --server URL and the
operator key (--operator-key or PODSERVER_OPERATOR_KEY).

Run "podserver pod SUBCOMMAND --help" for its flags.`

func cmdPod(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"pod: want a subcommand: create, list, disable, enable or delete"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(helpOutput(stderr), podHelp)
		return flag.ErrHelp
	case "create", "list", "disable", "enable", "delete":
		return cmdPodSub(ctx, args[0], args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("pod: unknown subcommand %q: want create, list, disable, enable or delete", args[0])}
}

const keyHelp = `Usage:
  podserver key create --pod P --app A [flags]   create an app key (--owner: an owner key); prints it once
  podserver key list --pod P [flags]             list a pod's keys (never their secrets)
  podserver key revoke --pod P [flags] ID        revoke a key

Run "podserver key SUBCOMMAND --help" for its flags.`

func cmdKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"key: want a subcommand: create, list or revoke"}
	}
	var (
		help string
		pos  []string
	)
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(helpOutput(stderr), keyHelp)
		return flag.ErrHelp
	case "create":
		help = "Usage: podserver key create --pod P (--app A | --owner) [flags]\n\nCreate an app key for pod P, naming app A, or with --owner another owner\nkey, and print it; it is shown only this once. An app key acts as its pod's\nWebID, without Control; an owner key has full control of the pod."
	case "list":
		help = "Usage: podserver key list --pod P [flags]\n\nList pod P's keys, one a line: id, app, kind (owner or app), creation time\nand last use (- for never), separated by tabs. Secrets are never shown:\nonly their hashes are kept."
	case "revoke":
		help = "Usage: podserver key revoke --pod P [flags] ID\n\nRevoke pod P's key ID (the first column of key list). The pod's last\nowner key is refused unless --force."
		pos = []string{"ID"}
	default:
		return usageError{fmt.Sprintf("key: unknown subcommand %q: want create, list or revoke", args[0])}
	}
	sub := args[0]
	fs := newFlagSet("key "+sub, help, stderr)
	var c common
	c.register(fs)
	podName := fs.String("pod", "", "the pod the key belongs to (required)")
	server := fs.String("server", "", "a running server's base URL (path naming; in subdomain naming, the pod's root URL): work through the pod's key API instead of the data directory")
	ownerKey := fs.String("key", "", "with --server: an owner key of the pod")
	var app *string
	var owner, force *bool
	switch sub {
	case "create":
		app = fs.String("app", "", "the app the key identifies (required, unless --owner)")
		owner = fs.Bool("owner", false, "make another owner key (full control of the pod) instead of an app key")
	case "revoke":
		force = fs.Bool("force", false, "revoke the pod's last owner key too: nobody can then administer the pod until key create --owner makes a new one on the data directory")
	}
	if err := parseArgs(fs, args[1:], pos...); err != nil {
		return err
	}
	if *podName == "" {
		return usageError{"key " + sub + ": --pod is required"}
	}
	if app != nil && *app == "" && !*owner {
		return usageError{"key create: --app is required (or --owner)"}
	}
	if *server != "" {
		if *ownerKey == "" {
			return usageError{"key " + sub + ": --server needs --key, an owner key of the pod"}
		}
		if force != nil && *force {
			return usageError{"key revoke: --force works on the data directory only: a server never revokes a pod's last owner key"}
		}
		root := strings.TrimSuffix(*server, "/") + "/"
		if !strings.HasSuffix(root, "/"+*podName+"/") && !strings.HasPrefix(strings.TrimPrefix(strings.TrimPrefix(root, "https://"), "http://"), *podName+".") {
			root += *podName + "/"
		}
		var a string
		var o bool
		if app != nil {
			a, o = *app, *owner
		}
		return keyRemote(ctx, root, *ownerKey, sub, a, o, fs.Arg(0), stdout)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer shutdown(s)
	if err := podMustExist(ctx, s, *podName); err != nil {
		return err
	}
	switch sub {
	case "create":
		secret, _, err := s.Keys().Create(ctx, *podName, *app, *owner)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
	case "list":
		keys, err := s.Keys().List(ctx, *podName)
		if err != nil {
			return err
		}
		for _, k := range keys {
			fmt.Fprintln(stdout, keyLine(k.ID, k.App, k.Owner, k.Created, k.LastUsed))
		}
	case "revoke":
		if !*force {
			return s.Keys().Revoke(ctx, *podName, fs.Arg(0))
		}
		err := s.Keys().Revoke(ctx, *podName, fs.Arg(0))
		if errors.Is(err, acl.ErrLastOwnerKey) {
			if err := s.Keys().ForceRevoke(ctx, *podName, fs.Arg(0)); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "revoked pod %s's last owner key: nobody can administer it until `podserver key create --pod %s --owner` makes a new one\n", *podName, *podName)
			return nil
		}
		return err
	}
	return nil
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
