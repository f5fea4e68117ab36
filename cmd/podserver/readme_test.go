package main

// The README's promises about the command line, each pinned to the answer
// the README gives: the lines serve --demo prints, what --demo implies,
// --commit-interval 0, the PODSERVER_* variables and the flag defaults.

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest/lockedbuf"
)

// readme returns the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeProse returns the README with every run of white space made one
// space, so a phrase wrapped across lines is still found.
func readmeProse(t *testing.T) string {
	return strings.Join(strings.Fields(readme(t)), " ")
}

// readmeBlock returns the lines of the first fenced block after the README
// line that starts with intro.
func readmeBlock(t *testing.T, intro string) []string {
	t.Helper()
	doc := readme(t)
	i := strings.Index(doc, "\n"+intro)
	if i < 0 {
		t.Fatalf("README has no line starting %q", intro)
	}
	rest := doc[i:]
	start := strings.Index(rest, "```\n")
	if start < 0 {
		t.Fatalf("README has no block after %q", intro)
	}
	rest = rest[start+4:]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatalf("README's block after %q is not closed", intro)
	}
	return strings.Split(strings.TrimSuffix(rest[:end], "\n"), "\n")
}

// TestServeDemoOutput: serve --demo prints exactly the lines the README
// shows, one per demo key, the demo password (pod.DemoPassword), then
// "listening on", "console:" and the Solid-OIDC issuer, with the port it
// listens on in place of 8080.
func TestServeDemoOutput(t *testing.T) {
	want := readmeBlock(t, "`serve --demo` prints one line per demo key")
	if len(want) != 9 {
		t.Fatalf("README's serve --demo block has %d lines, want 9: %q", len(want), want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedbuf.Buffer
	done := make(chan int, 1)
	go func() {
		code := runContext(ctx, []string{"serve", "--demo", "--addr", "localhost:0", "--data", t.TempDir()}, pw, &stderr)
		pw.Close()
		done <- code
	}()
	var got []string
	sc := bufio.NewScanner(pr)
	for len(got) < len(want) && sc.Scan() {
		got = append(got, sc.Text())
	}
	cancel()
	go io.Copy(io.Discard, pr) // anything further fails the comparison below
	if code := <-done; code != 0 {
		t.Fatalf("serve --demo exited %d: %s", code, stderr.String())
	}
	if len(got) != len(want) {
		t.Fatalf("serve --demo printed %q; want %d lines like %q (stderr %s)", got, len(want), want, stderr.String())
	}
	m := regexp.MustCompile(`^listening on http://localhost:(\d+)$`).FindStringSubmatch(got[6])
	if m == nil || m[1] == "0" {
		t.Fatalf("listening line %q: want http://localhost:PORT", got[6])
	}
	if !strings.Contains(got[5], "password="+pod.DemoPassword) || !strings.Contains(got[8], "http://localhost:"+m[1]+"/ ") {
		t.Errorf("no demo password or issuer: %q", got)
	}
	for i := range want {
		if w := strings.ReplaceAll(want[i], "localhost:8080", "localhost:"+m[1]); got[i] != w {
			t.Errorf("line %d: got %q, want %q", i+1, got[i], w)
		}
	}
	if !strings.Contains(stderr.String(), "demo keys and password below are public") {
		t.Errorf("stderr lacks the warning that the demo keys are public: %s", stderr.String())
	}
}

// TestDemoImpliesAllowPrivateTargets: the README says targets on private
// addresses are refused unless --allow-private-targets, and that the demo
// sets it.
func TestDemoImpliesAllowPrivateTargets(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--demo"}, true},
		{[]string{"--allow-private-targets"}, true},
		{[]string{"--demo=false"}, false},
	} {
		cfg, err := parseServe(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if cfg.opts.AllowPrivateTargets != c.want {
			t.Errorf("serve %v: AllowPrivateTargets %v, want %v", c.args, cfg.opts.AllowPrivateTargets, c.want)
		}
	}
}

// TestCommitIntervalFlag: --commit-interval defaults to 3ms, and 0 turns
// the interval off: pod.Options gets a negative value, which pod maps to
// the store's 0, "commit each batch at once" (see pod's
// TestCommitIntervalOption).
func TestCommitIntervalFlag(t *testing.T) {
	prose := readmeProse(t)
	for _, phrase := range []string{"`serve --commit-interval` (default 3ms)", "`0` turns it off"} {
		if !strings.Contains(prose, phrase) {
			t.Errorf("README no longer says %q", phrase)
		}
	}
	for _, c := range []struct {
		args []string
		want time.Duration // in pod.Options
	}{
		{nil, 3 * time.Millisecond},
		{[]string{"--commit-interval", "0"}, -1},
		{[]string{"--commit-interval", "0s"}, -1},
		{[]string{"--commit-interval", "10ms"}, 10 * time.Millisecond},
	} {
		cfg, err := parseServe(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := cfg.opts.CommitInterval; got != c.want && !(c.want < 0 && got < 0) {
			t.Errorf("serve %v: Options.CommitInterval %v, want %v", c.args, got, c.want)
		}
	}
	if pod.DefaultCommitInterval != 3*time.Millisecond {
		t.Errorf("pod.DefaultCommitInterval is %v; the README says 3ms", pod.DefaultCommitInterval)
	}
}

// serveFlags returns the flag names serve --help lists.
func serveFlags(t *testing.T) (names []string, help string) {
	t.Helper()
	code, help, _ := runCmd("serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d", code)
	}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(help, -1) {
		names = append(names, m[1])
	}
	return names, help
}

// TestServeEnvironment: every serve flag can be set from PODSERVER_<FLAG>,
// and the variable's value reaches the server's options. The table must
// name every flag serve --help lists.
func TestServeEnvironment(t *testing.T) {
	tests := []struct {
		flag, value string
		check       func(serveConfig) bool
	}{
		{"addr", "127.0.0.1:9999", func(c serveConfig) bool { return c.opts.Addr == "127.0.0.1:9999" }},
		{"data", "/tmp/podserver-env", func(c serveConfig) bool { return c.opts.DataDir == "/tmp/podserver-env" }},
		{"store", "postgres://u@h/db", func(c serveConfig) bool { return c.opts.StoreURL == "postgres://u@h/db" }},
		{"base-url", "https://pods.example", func(c serveConfig) bool { return c.opts.BaseURL == "https://pods.example" }},
		{"pod-naming", "subdomain", func(c serveConfig) bool { return c.opts.PodNaming == pod.NamingSubdomain }},
		{"demo", "true", func(c serveConfig) bool { return c.demo && c.opts.AllowPrivateTargets }},
		{"allow-private-targets", "true", func(c serveConfig) bool { return !c.demo && c.opts.AllowPrivateTargets }},
		{"jsonld-remote-contexts", "false", func(c serveConfig) bool { return c.opts.NoRemoteContexts }},
		{"max-connections", "300", func(c serveConfig) bool { return c.opts.MaxConns == 300 }},
		{"max-connections-per-ip", "20", func(c serveConfig) bool { return c.opts.MaxConnsPerIP == 20 }},
		{"retry-schedule", "1s,2m", func(c serveConfig) bool {
			return slices.Equal(c.opts.RetrySchedule, []time.Duration{time.Second, 2 * time.Minute})
		}},
		{"delivery-timeout", "7s", func(c serveConfig) bool { return c.opts.DeliveryTimeout == 7*time.Second }},
		{"delivery-per-host", "3", func(c serveConfig) bool { return c.opts.DeliveryPerHost == 3 }},
		{"delivery-lease", "90s", func(c serveConfig) bool { return c.opts.DeliveryLease == 90*time.Second }},
		{"node", "node-b", func(c serveConfig) bool { return c.opts.Node == "node-b" }},
		{"alias", "pods.internal, http://10.0.0.5:8080", func(c serveConfig) bool {
			return slices.Equal(c.opts.Aliases, []string{"pods.internal", "http://10.0.0.5:8080"})
		}},
		{"operator-key", "op_0123456789abcdef", func(c serveConfig) bool { return c.opts.OperatorKey == "op_0123456789abcdef" }},
		{"open-registration", "true", func(c serveConfig) bool { return c.opts.OpenRegistration }},
		{"fanout-threshold", "8", func(c serveConfig) bool { return c.opts.FanoutThreshold == 8 }},
		{"fanout-batch", "5", func(c serveConfig) bool { return c.opts.FanoutBatch == 5 }},
		{"fanout-lag", "750ms", func(c serveConfig) bool { return c.opts.FanoutLag == 750*time.Millisecond }},
		{"fanout-max-pending", "5000", func(c serveConfig) bool { return c.opts.FanoutMaxPending == 5000 }},
		{"commit-interval", "0", func(c serveConfig) bool { return c.opts.CommitInterval < 0 }},
		{"log-level", "warn", func(c serveConfig) bool {
			ctx := context.Background()
			return c.opts.Logger.Enabled(ctx, slog.LevelWarn) && !c.opts.Logger.Enabled(ctx, slog.LevelInfo)
		}},
		{"disk-reserve", "512MiB", func(c serveConfig) bool { return c.opts.DiskReserve == 512<<20 }},
		{"memtable-size", "64MiB", func(c serveConfig) bool { return c.opts.MemTableSize == 64<<20 }},
	}
	flags, _ := serveFlags(t)
	var covered []string
	for _, tc := range tests {
		covered = append(covered, tc.flag)
	}
	slices.Sort(covered)
	if !slices.Equal(flags, covered) {
		t.Errorf("serve --help lists %v; this table covers %v", flags, covered)
	}
	base, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			if tc.check(base) {
				t.Fatalf("the check for %s passes without the variable: it proves nothing", tc.flag)
			}
			env := "PODSERVER_" + strings.ToUpper(strings.ReplaceAll(tc.flag, "-", "_"))
			t.Setenv(env, tc.value)
			cfg, err := parseServe(nil, io.Discard)
			if err != nil {
				t.Fatalf("%s=%s: %v", env, tc.value, err)
			}
			if !tc.check(cfg) {
				t.Errorf("%s=%s did not reach the options: %+v", env, tc.value, cfg.opts)
			}
		})
	}
	// The README names these variables.
	prose := readmeProse(t)
	for _, env := range []string{"PODSERVER_ADDR", "PODSERVER_DATA", "PODSERVER_BASE_URL", "PODSERVER_POD_NAMING", "PODSERVER_DEMO",
		"PODSERVER_ALLOW_PRIVATE_TARGETS", "PODSERVER_RETRY_SCHEDULE", "PODSERVER_STORE"} {
		if !strings.Contains(prose, "`"+env+"`") {
			t.Errorf("README no longer names %s", env)
		}
	}
	// A bad value is a usage error naming the variable.
	t.Setenv("PODSERVER_DELIVERY_TIMEOUT", "soon")
	if code, _, errs := runCmd("serve"); code != 2 || !strings.Contains(errs, "PODSERVER_DELIVERY_TIMEOUT") {
		t.Errorf("PODSERVER_DELIVERY_TIMEOUT=soon: exit %d %q; want 2 naming the variable", code, errs)
	}
}

// TestServeDefaults: the defaults serve --help shows are the ones the
// README states, and the ones the options get.
func TestServeDefaults(t *testing.T) {
	_, help := serveFlags(t)
	prose := readmeProse(t)
	cfg, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag, readme, help string
		ok                 bool
	}{
		{"addr", "listening on http://localhost:8080", `(default "localhost:8080")`, cfg.opts.Addr == "localhost:8080"},
		{"data", "embedded default store (`./data`)", `(default "./data")`, cfg.opts.DataDir == "./data"},
		{"pod-naming", "`PODSERVER_POD_NAMING` (`path` or `subdomain`)", `(default "path")`, cfg.opts.PodNaming == pod.NamingPath},
		{"commit-interval", "`serve --commit-interval` (default 3ms)", "(default 3ms)", cfg.opts.CommitInterval == 3*time.Millisecond},
		{"retry-schedule", "`--retry-schedule` (default `5s,5m,30m,2h,5h,10h,10h`", `(default "5s,5m,30m,2h,5h,10h,10h")`,
			slices.Equal(cfg.opts.RetrySchedule, []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour})},
		{"delivery-timeout", "`--delivery-timeout` (default 10s)", "(default 10s)", cfg.opts.DeliveryTimeout == 10*time.Second},
		{"delivery-per-host", "`--delivery-per-host` (64)", "(default 64)", cfg.opts.DeliveryPerHost == 64},
		{"allow-private-targets", "refused unless `serve --allow-private-targets`", "", !cfg.opts.AllowPrivateTargets},
		{"jsonld-remote-contexts", "`serve --jsonld-remote-contexts=false` fetches none", "(default true)", !cfg.opts.NoRemoteContexts},
		{"max-connections-per-ip", "`--max-connections-per-ip` (1,024)", "(default 1024", cfg.opts.MaxConnsPerIP == 0},
		// 9 memtables of the default 32MiB + 4MiB = 292MiB.
		{"disk-reserve", "(9 memtables + 4 MiB, 292 MiB by default", "(default: 9 memtables + 4MiB)", cfg.opts.DiskReserve == 0 && 9*32+4 == 292},
		{"memtable-size", "292 MiB by default", "(default 32MiB)", cfg.opts.MemTableSize == 0},
	} {
		if !strings.Contains(prose, c.readme) {
			t.Errorf("%s: README no longer says %q", c.flag, c.readme)
		}
		i := strings.Index(help, "  -"+c.flag+" ")
		if i < 0 {
			i = strings.Index(help, "  -"+c.flag+"\n")
		}
		if i < 0 {
			t.Errorf("serve --help does not list -%s", c.flag)
			continue
		}
		entry := help[i+3:]
		if j := strings.Index(entry, "\n  -"); j >= 0 {
			entry = entry[:j]
		}
		if c.help != "" && !strings.Contains(entry, c.help) {
			t.Errorf("serve --help for -%s: %q; want %q", c.flag, entry, c.help)
		}
		if c.help == "" && strings.Contains(entry, "(default") {
			t.Errorf("serve --help for -%s shows a default: %q", c.flag, entry)
		}
		if !c.ok {
			t.Errorf("%s: the options' default differs from the README's: %+v", c.flag, cfg.opts)
		}
	}
}
