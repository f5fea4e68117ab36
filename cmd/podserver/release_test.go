package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReleaseScript runs scripts/release for this machine's platform and
// checks what it makes: the archive named for the version and platform,
// SHA256SUMS that verifies it, and in it the README and a binary whose
// --version prints the version and the commit (so the script's -X names
// match version.go's).
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	for _, tool := range []string{"bash", "git", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/release needs %s: %v", tool, err)
		}
	}
	if runtime.GOOS == "windows" {
		t.Skip("scripts/release runs on Linux and macOS")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "../../scripts/release", "-o", out, "v9.8.7-test")
	cmd.Env = append(os.Environ(), "PODSERVER_RELEASE_TARGETS=host")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, b)
	}
	name := "podserver_v9.8.7-test_" + runtime.GOOS + "_" + runtime.GOARCH
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(sums)), "  "+name+".tar.gz") || strings.Count(string(sums), "\n") != 1 {
		t.Fatalf("SHA256SUMS: %q %v; want one line for %s.tar.gz", sums, err, name)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out
	if b, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
	f, err := os.Open(filepath.Join(out, name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	bin := filepath.Join(t.TempDir(), "podserver")
	var files []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, h.Name)
		if h.Name == name+"/podserver" {
			w, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, want := range []string{name + "/podserver", name + "/README.md"} {
		found := false
		for _, f := range files {
			found = found || f == want
		}
		if !found {
			t.Errorf("the archive holds %q; want %s", files, want)
		}
	}
	v, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("podserver --version: %v", err)
	}
	want := "podserver v9.8.7-test\nrevision " + strings.TrimSpace(string(head)) + " ("
	if !strings.HasPrefix(string(v), want) {
		t.Errorf("--version of the release binary: %q; want it to start %q", v, want)
	}
}
