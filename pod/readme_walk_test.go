package pod_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
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
// command prints with the output the README shows after it.
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
			_, base := runServe(t, bin, append([]string{"--demo", "--addr", "127.0.0.1:0", "--log-level", "error"}, backend.args(t)...)...)
			dir := t.TempDir()
			// One bash session runs every command block in order, each
			// block's output after a marker line.
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
			cmd.Dir = dir
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
		})
	}
}
