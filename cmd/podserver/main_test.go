package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/pod"
	"podserver/store/pgstore/pgtest"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd("pod", "create", "carol", "--data", dir)
	if code != 0 {
		t.Fatalf("pod create: %d %s", code, errs)
	}
	ownerKey := strings.TrimSpace(out)
	if !regexp.MustCompile(`^pk_[A-Za-z0-9_-]{20,}$`).MatchString(ownerKey) || strings.Count(out, "\n") != 1 {
		t.Fatalf("pod create must print the key alone on one line, got %q", out)
	}
	if code, _, errs := runCmd("pod", "create", "carol", "--data", dir); code == 0 || !strings.Contains(errs, "exists") {
		t.Errorf("second pod create: %d %q", code, errs)
	}
	if code, _, errs := runCmd("pod", "create", "Bad_Name", "--data", dir); code == 0 || !strings.Contains(errs, "invalid pod name") {
		t.Errorf("bad pod name: %d %q", code, errs)
	}
	code, out, errs = runCmd("key", "create", "--pod", "carol", "--app", "notes", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "pk_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("key create: %d %q %s", code, out, errs)
	}
	code, out, _ = runCmd("key", "list", "--pod", "carol", "--data", dir)
	if code != 0 || !strings.Contains(out, "\tnotes\tapp\t") || !strings.Contains(out, "\towner\towner\t") || strings.Contains(out, "pk_") {
		t.Fatalf("key list: %d %q", code, out)
	}
	var appID string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, "\t"); len(f) > 2 && f[1] == "notes" {
			appID = f[0]
		}
	}
	if code, _, errs := runCmd("key", "revoke", "--pod", "carol", "--data", dir, appID); code != 0 {
		t.Fatalf("key revoke: %d %s", code, errs)
	}
	if _, out, _ := runCmd("key", "list", "--pod", "carol", "--data", dir); strings.Contains(out, "notes") {
		t.Errorf("revoked key still listed: %q", out)
	}
	if code, out, _ := runCmd("pod", "list", "--data", dir); code != 0 || !strings.HasPrefix(out, "carol\t") {
		t.Errorf("pod list: %d %q", code, out)
	}
	if code, _, _ := runCmd("key", "create", "--pod", "nobody", "--app", "x", "--data", dir); code == 0 {
		t.Error("key create for a missing pod succeeded")
	}
	for _, args := range [][]string{{"serve", "--help"}, {"pod", "create", "--help"}, {"key", "create", "--help"}, {"--help"}} {
		if code, _, _ := runCmd(args...); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	if code, _, _ := runCmd("frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

// TestDataDirInUse: a command that needs the data directory while a server
// holds it says so plainly and exits non-zero.
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := pod.New(pod.Options{DataDir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	code, _, errs := runCmd("pod", "create", "dave", "--data", dir)
	if code == 0 || !strings.Contains(errs, "in use") {
		t.Errorf("pod create on a held data dir: %d %q", code, errs)
	}
}

func TestEnvironmentFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PODSERVER_DATA", dir)
	if code, _, errs := runCmd("pod", "create", "erin"); code != 0 {
		t.Fatalf("pod create with PODSERVER_DATA: %d %s", code, errs)
	}
	if _, out, _ := runCmd("pod", "list", "--data", dir); !strings.HasPrefix(out, "erin\t") {
		t.Errorf("PODSERVER_DATA was not used: %q", out)
	}
}

// pgCluster is the PostgreSQL cluster of the --store tests, started by
// the first of them.
var pgCluster = pgtest.New()

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	pgCluster.Stop()
	os.Exit(code)
}

// TestStorePostgres: migrate alone, then the admin commands on a
// PostgreSQL store, by flag and by PODSERVER_STORE.
func TestStorePostgres(t *testing.T) {
	url := pgCluster.URL(t)
	if code, _, errs := runCmd("migrate"); code != 2 || !strings.Contains(errs, "--store") {
		t.Errorf("migrate without --store: %d %q; want 2 and a word about --store", code, errs)
	}
	if code, out, errs := runCmd("migrate", "--store", url); code != 0 || out != "applied migration 1\napplied migration 2\n" {
		t.Fatalf("migrate: %d %q %s", code, out, errs)
	}
	t.Setenv("PODSERVER_STORE", url)
	if code, out, errs := runCmd("migrate"); code != 0 || out != "schema up to date\n" {
		t.Fatalf("second migrate (PODSERVER_STORE): %d %q %s", code, out, errs)
	}
	if code, _, errs := runCmd("pod", "create", "carol"); code != 0 {
		t.Fatalf("pod create on PostgreSQL: %d %s", code, errs)
	}
	dir := t.TempDir() // the Badger store there stays empty
	if code, out, _ := runCmd("pod", "list", "--data", dir, "--store", url); code != 0 || !strings.HasPrefix(out, "carol\t") {
		t.Errorf("pod list on PostgreSQL: %d %q", code, out)
	}
	if code, out, _ := runCmd("pod", "list", "--data", dir, "--store", ""); code != 0 || strings.Contains(out, "carol") {
		t.Errorf("pod list on Badger in %s: %d %q; want no carol", dir, code, out)
	}
}

func TestParseSchedule(t *testing.T) {
	got, err := parseSchedule("5s, 5m,30m")
	if err != nil || len(got) != 3 || got[0] != 5*time.Second || got[2] != 30*time.Minute {
		t.Errorf("parseSchedule: %v %v", got, err)
	}
	for _, bad := range []string{"", "5s,,5m", "-1s", "0s", "soon"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("parseSchedule(%q) accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "4096": 4096, "64MiB": 64 << 20, "2GiB": 2 << 30, "512KiB": 512 << 10} {
		if got, err := parseSize("--x", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "0", "1TB", "MiB", "9999999999GiB", "1.5GiB"} {
		if _, err := parseSize("--x", bad); err == nil || !strings.Contains(err.Error(), "--x") {
			t.Errorf("parseSize(%q) accepted or unnamed: %v", bad, err)
		}
	}
}
