package main

// The command line's conventions: --help on every command and subcommand
// (stdout, exit 0, the command's own flags and arguments), exit 2 for a
// wrong command line and 1 for a runtime error, --version, extra
// arguments refused, --data and --pod checked, and environment values
// that do not parse naming the type they want.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestCLIHelp: every command and subcommand answers --help, -h and "help
// COMMAND" on stdout with exit 0 and nothing on stderr, and the text names
// the command's own flags and arguments and none of another's. The table
// must cover every command the top-level usage lists and every
// subcommand.
func TestCLIHelp(t *testing.T) {
	tests := []struct {
		cmd    string
		want   []string // in the help text
		refuse []string // flags it must not list
	}{
		{"", []string{"podserver serve", "podserver pod create NAME", "podserver key revoke", "podserver copy", "--version"}, nil},
		{"serve", []string{"Usage: podserver serve", "-addr", "-demo", "-data", "-retry-schedule", "-memtable-size"}, []string{"-pod"}},
		{"pod", []string{"podserver pod create [flags] NAME", "podserver pod list"}, nil},
		{"pod create", []string{"Usage: podserver pod create [flags] NAME", "-data", "-store", "-base-url"}, []string{"-addr", "-pod"}},
		{"pod list", []string{"Usage: podserver pod list", "-data", "-server", "-operator-key"}, []string{"-addr", "-pod"}},
		{"pod disable", []string{"Usage: podserver pod disable [flags] NAME", "-data", "-server"}, []string{"-addr", "-pod"}},
		{"pod enable", []string{"Usage: podserver pod enable [flags] NAME", "-data", "-server"}, []string{"-addr", "-pod"}},
		{"pod delete", []string{"Usage: podserver pod delete [flags] NAME", "-data", "-server"}, []string{"-addr", "-pod"}},
		{"key", []string{"podserver key create", "podserver key list", "podserver key revoke"}, nil},
		{"key create", []string{"Usage: podserver key create --pod P (--app A | --owner)", "-pod", "-app", "-owner", "-data", "-server", "-key"}, []string{"-addr", "-force"}},
		{"key list", []string{"Usage: podserver key list --pod P", "-pod", "-data"}, []string{"-app"}},
		{"key revoke", []string{"Usage: podserver key revoke --pod P [flags] ID", "-pod", "-force"}, []string{"-app", "-owner"}},
		{"bench", []string{"podserver bench", "-connections", "-fanout"}, []string{"-steps"}},
		{"bench notify", []string{"-steps"}, []string{"-fanout"}},
		{"migrate", []string{"Usage: podserver migrate --store URL", "-store"}, []string{"-data"}},
		{"copy", []string{"Usage: podserver copy --from SRC --to DST", "-from", "-to", "-force"}, []string{"-data"}},
	}
	var covered []string
	for _, tc := range tests {
		covered = append(covered, tc.cmd)
	}
	for _, m := range regexp.MustCompile(`(?m)^  podserver ([a-z]+)`).FindAllStringSubmatch(usage, -1) {
		subs, ok := subcommands(m[1])
		if !ok {
			t.Errorf("the usage lists %q, which is no command", m[1])
		}
		for _, c := range append([]string{m[1]}, prefixed(m[1], subs)...) {
			if !slices.Contains(covered, c) {
				t.Errorf("the help table lacks %q", c)
			}
		}
	}
	for _, tc := range tests {
		args := strings.Fields(tc.cmd)
		forms := [][]string{append(slices.Clone(args), "--help"), append(slices.Clone(args), "-h"), append([]string{"help"}, args...)}
		for _, a := range forms {
			code, out, errs := runCmd(a...)
			if code != 0 || errs != "" {
				t.Errorf("%q: exit %d, stderr %q; want 0 and nothing on stderr", a, code, errs)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q: help lacks %q:\n%s", a, w, out)
				}
			}
			for _, r := range tc.refuse {
				if regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(r) + `( |$)`).MatchString(out) {
					t.Errorf("%q: help shows %q, which is not its own:\n%s", a, r, out)
				}
			}
		}
	}
	// Flags after an argument still ask for help.
	if code, out, _ := runCmd("key", "revoke", "some-id", "--help"); code != 0 || !strings.Contains(out, "Usage: podserver key revoke") {
		t.Errorf("key revoke ID --help: %d %q", code, out)
	}
}

func prefixed(cmd string, subs []string) []string {
	var out []string
	for _, s := range subs {
		out = append(out, cmd+" "+s)
	}
	return out
}

// TestCLIExitCodes: 0 for success, 2 with a pointer to --help for every
// kind of wrong command line, 1 for errors while running; errors go to
// stderr only.
func TestCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd("pod", "create", "carol", "--data", dir); code != 0 {
		t.Fatalf("pod create: %d %s", code, errs)
	}
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"pod", "list", "--data", dir}, 0, ""},
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"--data", dir}, 2, `unknown command "--data"`},
		{[]string{"pod"}, 2, "want a subcommand"},
		{[]string{"pod", "rename", "carol"}, 2, `unknown subcommand "rename"`},
		{[]string{"key"}, 2, "want a subcommand"},
		{[]string{"key", "rotate"}, 2, `unknown subcommand "rotate"`},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"pod", "list", "--data"}, 2, "flag needs an argument"},
		{[]string{"pod", "create", "--data", dir}, 2, "missing NAME"},
		{[]string{"key", "revoke", "--pod", "carol", "--data", dir}, 2, "missing ID"},
		{[]string{"key", "list", "--data", dir}, 2, "--pod is required"},
		{[]string{"key", "create", "--pod", "carol", "--data", dir}, 2, "--app is required"},
		{[]string{"key", "list", "--pod", "carol", "--app", "x", "--data", dir}, 2, "flag provided but not defined: -app"},
		{[]string{"migrate"}, 2, "--store"},
		{[]string{"serve", "--delivery-timeout", "soon"}, 2, `invalid --delivery-timeout "soon": want a duration`},
		{[]string{"serve", "--delivery-per-host", "many"}, 2, `invalid --delivery-per-host "many": want an integer`},
		{[]string{"serve", "--demo=maybe"}, 2, `invalid --demo "maybe": want a boolean`},
		{[]string{"--version", "extra"}, 2, "takes no arguments"},
		{[]string{"pod", "list", "--data", missing}, 1, "no data directory " + missing},
		{[]string{"key", "list", "--pod", "nobody", "--data", dir}, 1, `no pod named "nobody"`},
		{[]string{"pod", "create", "carol", "--data", dir}, 1, "exists"},
		{[]string{"key", "revoke", "--pod", "carol", "--data", dir, "no-such-key"}, 1, ""},
	} {
		code, out, errs := runCmd(c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
		if code != 0 && out != "" {
			t.Errorf("%q failed but printed %q on stdout", c.args, out)
		}
		hint := strings.Contains(errs, "--help\" for usage.")
		if c.code == 2 && c.args != nil && !hint {
			t.Errorf("%q: a usage error without a pointer to --help: %q", c.args, errs)
		}
		if c.code == 1 && hint {
			t.Errorf("%q: a runtime error pointing at --help: %q", c.args, errs)
		}
	}
	// The pointer names the subcommand.
	if _, _, errs := runCmd("key", "revoke", "--data", dir); !strings.Contains(errs, `Run "podserver key revoke --help"`) {
		t.Errorf("key revoke without --pod: %q; want a pointer to key revoke --help", errs)
	}
}

// TestCLIExtraArguments: every command refuses an argument it does not
// take, with exit 2, before doing anything.
func TestCLIExtraArguments(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd("pod", "create", "carol", "--data", dir); code != 0 {
		t.Fatalf("pod create: %d %s", code, errs)
	}
	for _, args := range [][]string{
		{"serve", "now", "--data", t.TempDir()},
		{"pod", "list", "--data", dir, "carol"},
		{"pod", "create", "dave", "erin", "--data", dir},
		{"key", "create", "--pod", "carol", "--app", "a", "--data", dir, "extra"},
		{"key", "list", "--pod", "carol", "--data", dir, "extra"},
		{"key", "revoke", "--pod", "carol", "--data", dir, "id1", "id2"},
		{"migrate", "--store", "postgres://nowhere/db", "extra"},
		{"copy", "--from", dir, "--to", filepath.Join(t.TempDir(), "x"), "extra"},
		{"bench", "extra"},
		{"bench", "notify", "extra"},
	} {
		code, out, errs := runCmd(args...)
		if code != 2 || !strings.Contains(errs, "unexpected argument") || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and unexpected argument", args, code, out, errs)
		}
	}
	if _, out, _ := runCmd("pod", "list", "--data", dir); strings.Contains(out, "dave") || strings.Contains(out, "erin") {
		t.Errorf("a refused pod create created a pod: %q", out)
	}
}

// TestCLIDataDir: the administrative commands never create a data
// directory. A missing one, a file, or a directory holding other files
// than a store is an error (exit 1) and is left as it was; an empty
// directory gets a new store. serve creates a missing one.
func TestCLIDataDir(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "dtaa")
	file := filepath.Join(base, "file")
	other := filepath.Join(base, "other")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{missing, "no data directory"},
		{file, "is a file"},
		{other, "not a podserver data directory"},
	} {
		for _, args := range [][]string{
			{"pod", "create", "carol"},
			{"pod", "list"},
			{"key", "create", "--pod", "carol", "--app", "a"},
			{"key", "list", "--pod", "carol"},
			{"key", "revoke", "--pod", "carol", "id"},
		} {
			args = append(args, "--data", c.dir)
			if code, _, errs := runCmd(args...); code != 1 || !strings.Contains(errs, c.want) {
				t.Errorf("%q: exit %d %q; want 1 and %q", args, code, errs, c.want)
			}
		}
		// The same through PODSERVER_DATA.
		t.Setenv("PODSERVER_DATA", c.dir)
		if code, _, errs := runCmd("pod", "list"); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("PODSERVER_DATA=%s pod list: exit %d %q", c.dir, code, errs)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a command created the missing data directory: %v", err)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 1 {
		t.Errorf("a command wrote into a directory that is no store: %d entries", len(entries))
	}
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd("pod", "create", "carol", "--data", empty); code != 0 {
		t.Fatalf("pod create in an empty directory: %d %s", code, errs)
	}
	if code, out, errs := runCmd("pod", "list", "--data", empty); code != 0 || !strings.HasPrefix(out, "carol\t") {
		t.Errorf("pod list after creating the store: %d %q %s", code, out, errs)
	}
	// serve creates its data directory (a context already ended makes it
	// stop at once, after starting).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := filepath.Join(base, "fresh", "data")
	if code := runContext(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", fresh, "--log-level", "error"}, &strings.Builder{}, &strings.Builder{}); code != 0 {
		t.Fatalf("serve over a missing data directory: exit %d", code)
	}
	if code, out, errs := runCmd("pod", "list", "--data", fresh); code != 0 || out != "" {
		t.Errorf("pod list over the directory serve created: %d %q %s", code, out, errs)
	}
}

// TestCLIUnknownPod: the key commands refuse a pod that does not exist.
func TestCLIUnknownPod(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd("pod", "create", "carol", "--data", dir); code != 0 {
		t.Fatalf("pod create: %d %s", code, errs)
	}
	for _, args := range [][]string{
		{"key", "create", "--pod", "carl", "--app", "a"},
		{"key", "list", "--pod", "carl"},
		{"key", "revoke", "--pod", "carl", "id"},
	} {
		args = append(args, "--data", dir)
		if code, out, errs := runCmd(args...); code != 1 || !strings.Contains(errs, `no pod named "carl"`) || out != "" {
			t.Errorf("%q: exit %d %q %q; want 1 and no pod named", args, code, out, errs)
		}
	}
}

// TestCLIEnvironmentTypes: a PODSERVER_* value that does not parse is a
// usage error naming the variable and the type it wants.
func TestCLIEnvironmentTypes(t *testing.T) {
	for _, c := range []struct{ env, value, want string }{
		{"PODSERVER_DEMO", "yes", "want a boolean: true or false"},
		{"PODSERVER_DELIVERY_TIMEOUT", "soon", "want a duration such as 10s"},
		{"PODSERVER_DELIVERY_PER_HOST", "many", "want an integer"},
		{"PODSERVER_COMMIT_INTERVAL", "3", "want a duration"},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			code, _, errs := runCmd("serve")
			if code != 2 || !strings.Contains(errs, c.env+`="`+c.value+`"`) || !strings.Contains(errs, c.want) {
				t.Errorf("%s=%s: exit %d %q; want 2, the variable and %q", c.env, c.value, code, errs, c.want)
			}
		})
	}
	t.Setenv("PODSERVER_FORCE", "sure")
	if code, _, errs := runCmd("copy", "--from", "a", "--to", "b"); code != 2 || !strings.Contains(errs, "PODSERVER_FORCE") || !strings.Contains(errs, "boolean") {
		t.Errorf("PODSERVER_FORCE=sure copy: exit %d %q", code, errs)
	}
}

// TestVersion: --version (and version) prints the version, the revision
// or why there is none, and the toolchain; stamped values win over the
// build information.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, errs := runCmd(arg)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || errs != "" || len(lines) != 3 || !strings.HasPrefix(lines[0], "podserver ") ||
			!strings.HasPrefix(lines[1], "revision ") || !strings.HasPrefix(lines[2], "go1.") {
			t.Errorf("%s: exit %d %q %q", arg, code, out, errs)
		}
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261204231443-a9b49e3a531c"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "a9b49e3a531cc7c3d8b7438b49ccfccbf196fcd4"},
		{Key: "vcs.time", Value: "2026-12-04T23:14:43Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	got := formatVersion(info, "", "", "")
	for _, want := range []string{"podserver v0.0.0-20261204231443-a9b49e3a531c\n",
		"revision a9b49e3a531cc7c3d8b7438b49ccfccbf196fcd4 (2026-12-04T23:14:43Z), with uncommitted changes\n", "go1.26.8 "} {
		if !strings.Contains(got, want) {
			t.Errorf("build info with VCS: %q lacks %q", got, want)
		}
	}
	got = formatVersion(info, "v1.4.0", "0123abcd", "2027-01-02T03:04:05Z")
	if !strings.HasPrefix(got, "podserver v1.4.0\nrevision 0123abcd (2027-01-02T03:04:05Z)\n") {
		t.Errorf("stamped: %q", got)
	}
	got = formatVersion(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "", "", "")
	if !strings.HasPrefix(got, "podserver devel\nrevision unknown: built without VCS information") {
		t.Errorf("no VCS information (-buildvcs=false): %q", got)
	}
}
