package pod_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fence is one fenced block of the README: its language tag and text.
type fence struct{ lang, text string }

// readmeFences returns the fenced blocks of the README from the line
// starting with from up to the line starting with to.
func readmeFences(t *testing.T, from, to string) []fence {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, "\n"+from), strings.Index(doc, "\n"+to)
	if i < 0 || j < i {
		t.Fatalf("README has no section from %q to %q", from, to)
	}
	var out []fence
	for _, m := range regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```$").FindAllStringSubmatch(doc[i:j], -1) {
		out = append(out, fence{lang: m[1], text: m[2]})
	}
	return out
}

// readmePattern turns an output block of the README into a pattern of
// what the server must print: the same text, except the parts the README
// says differ on every run (event ids, inbox item names and cursors,
// times, the signing key) and the base URL.
func readmePattern(want, base string) *regexp.Regexp {
	p := regexp.QuoteMeta(strings.TrimSuffix(want, "\n"))
	p = strings.ReplaceAll(p, regexp.QuoteMeta(readmeBase), regexp.QuoteMeta(base))
	for _, r := range []struct{ re, with string }{
		{`[0-9a-f]{32}`, `[0-9a-f]{32}`},
		{`"[0-9a-f]{16}"`, `"[0-9a-f]{16}"`},
		{`/[0-9a-f]{16}"`, `/[0-9a-f]{16}"`},
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\\\.\d+Z`, `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z`},
		{`"z6Mk…"`, `"z6Mk[1-9A-HJ-NP-Za-km-z]+"`},
	} {
		p = regexp.MustCompile(r.re).ReplaceAllLiteralString(p, r.with)
	}
	return regexp.MustCompile("^" + p + "$")
}

// TestReadmeWalkthroughScript runs the README's walk-through and
// publishing example as written, with bash and curl, against `podserver
// serve --demo`, on Badger and on PostgreSQL, and compares what each
// command prints with the output the README shows after it. It runs it
// twice on one store, restarting the server in between (on another
// port): serve --demo puts the demo pods back in their documented state
// on every start, as the README says, so the walk-through can be
// repeated.
func TestReadmeWalkthroughScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README walk-through needs %s: %v", tool, err)
		}
	}
	fences := append(readmeFences(t, "## Walk-through", "## Publishing events"),
		readmeFences(t, "## Publishing events", "Without a key it is")...)
	bin := buildBinary(t)
	for _, backend := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"badger", func(t *testing.T) []string { return []string{"--data", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"--store", pgCluster.URL(t)} }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			storeArgs := backend.args(t)
			for round := 1; round <= 2; round++ {
				t.Run(fmt.Sprintf("run%d", round), func(t *testing.T) {
					srv, base := runServe(t, bin, append([]string{"--demo", "--addr", "127.0.0.1:0", "--log-level", "error"}, storeArgs...)...)
					runReadmeScript(t, fences, base)
					stopServe(t, srv)
				})
			}
		})
	}
}

// stopServe stops a server started by runServe as Ctrl-C would, and waits
// for it to exit.
func stopServe(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		_ = cmd.Process.Kill()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after an interrupt", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve did not stop within 30s of an interrupt")
	}
}

// runReadmeScript runs the README's command blocks in one bash session
// against the server at base and compares each block's output with the
// output block the README shows after it.
func runReadmeScript(t *testing.T, fences []fence, base string) {
	t.Helper()
	// One bash session runs every command block in order, each block's
	// output after a marker line.
	var script strings.Builder
	script.WriteString("set +e\n")
	var expect []string // the output block after each command block ("" when none)
	for i, f := range fences {
		if f.lang != "sh" {
			continue
		}
		cmd := strings.ReplaceAll(f.text, readmeBase, base)
		script.WriteString("echo '@@block@@'\n" + cmd + "\n")
		want := ""
		if i+1 < len(fences) && fences[i+1].lang != "sh" {
			want = fences[i+1].text
		}
		expect = append(expect, want)
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	// curl -i prints header lines as sent, ending in CRLF.
	got := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "@@block@@\n")[1:]
	if len(got) != len(expect) {
		t.Fatalf("%d blocks ran, want %d:\n%s", len(got), len(expect), out)
	}
	for i, want := range expect {
		if want == "" {
			continue
		}
		if re := readmePattern(want, base); !re.MatchString(strings.TrimSuffix(got[i], "\n")) {
			t.Errorf("README block %d prints\n%s\nwant (as the README shows)\n%s", i, got[i], want)
		}
	}
}
