package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"podserver/bench"
	"podserver/pod"
)

// checkRemoteResult decodes a --remote --json result and checks that every
// copy of every acknowledged event arrived on server B.
func checkRemoteResult(t *testing.T, out string, fanout int64) {
	t.Helper()
	var res bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json output %q: %v", out, err)
	}
	if !res.Remote || res.Publishes == 0 || res.Errors != 0 || !res.Drained ||
		res.CopiesRead != res.Publishes*(fanout+1) || res.RecipientSeen != res.Publishes || res.RemoteDeliveriesPerS <= 0 {
		t.Errorf("result: %+v", res)
	}
}

// bench --remote starts two servers and reports copies delivered across
// them.
func TestBenchRemoteSelfStarted(t *testing.T) {
	code, out, errs := runCmd("bench", "--remote", "--duration", "1s", "--json", "--connections", "4",
		"--producers", "1", "--users", "2", "--subscribers", "3", "--fanout", "2")
	if code != 0 {
		t.Fatalf("bench --remote: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "server B at http://127.0.0.1:") {
		t.Errorf("no server B line: %q", errs)
	}
	checkRemoteResult(t, out, 2)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// bench --remote --prepare provisions two data directories; servers
// started over them are then benched with --target and --target-b.
func TestBenchRemotePrepared(t *testing.T) {
	addrA, addrB := freeAddr(t), freeAddr(t)
	urlA, urlB := "http://"+addrA, "http://"+addrB
	dirA, dirB := t.TempDir(), t.TempDir()
	setup := filepath.Join(t.TempDir(), "setup.json")
	if code, _, errs := runCmd("bench", "--remote", "--prepare", setup, "--data", dirA, "--base-url", urlA,
		"--data-b", dirB, "--base-url-b", urlB, "--producers", "1", "--users", "2", "--subscribers", "2", "--fanout", "1"); code != 0 {
		t.Fatalf("bench --remote --prepare: exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd("bench", "--remote", "--prepare", setup, "--data", dirA); code == 0 || !strings.Contains(errs, "--data-b") {
		t.Errorf("bench --remote --prepare without server B: exit %d: %s", code, errs)
	}
	for _, s := range []struct{ addr, dir string }{{addrA, dirA}, {addrB, dirB}} {
		srv, err := pod.New(pod.Options{Addr: s.addr, DataDir: s.dir, AllowPrivateTargets: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	}
	if code, _, errs := runCmd("bench", "--remote", "--target", urlB, "--target-b", urlA, "--setup", setup, "--fanout", "1"); code == 0 || !strings.Contains(errs, "not on server") {
		t.Errorf("bench with servers A and B swapped: exit %d: %s", code, errs)
	}
	code, out, errs := runCmd("bench", "--remote", "--target", urlA, "--target-b", urlB, "--setup", setup,
		"--duration", "1s", "--json", "--connections", "4", "--fanout", "1")
	if code != 0 {
		t.Fatalf("bench --remote --target: exit %d: %s", code, errs)
	}
	checkRemoteResult(t, out, 1)
}

// bench --store --nodes 2 starts two nodes on one PostgreSQL database and
// spreads the publishers over them; every subscriber copy is read, also
// those a reader on one node reads of events published on the other.
func TestBenchPostgresTwoNodes(t *testing.T) {
	url := pgCluster.URL(t)
	code, out, errs := runCmd("bench", "--store", url, "--nodes", "2", "--duration", "1s", "--json", "--connections", "4",
		"--producers", "2", "--users", "2", "--subscribers", "3", "--fanout", "2")
	if code != 0 {
		t.Fatalf("bench --store --nodes 2: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "node 1 at 127.0.0.1:") || !strings.Contains(errs, "2 nodes on one PostgreSQL database") {
		t.Errorf("no second node in the progress output: %q", errs)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json output %q: %v", out, err)
	}
	if res.Publishes == 0 || res.Errors != 0 || !res.Drained || res.CopiesRead != res.Publishes*2 || res.E2ESamples != res.CopiesRead {
		t.Errorf("result: %+v", res)
	}
	if len(res.NodePublishes) != 2 || res.NodePublishes[0] == 0 || res.NodePublishes[1] == 0 ||
		res.NodePublishes[0]+res.NodePublishes[1] != res.Publishes {
		t.Errorf("publishes per node: %v of %d, want both nodes used", res.NodePublishes, res.Publishes)
	}
	// The database now holds the bench pods: a second run on it cannot
	// provision them again.
	if code, _, errs := runCmd("bench", "--store", url, "--duration", "1s", "--producers", "2", "--users", "2", "--subscribers", "3", "--fanout", "2"); code == 0 {
		t.Errorf("second bench on the same database: exit 0: %s", errs)
	}
}

// --nodes needs a shared store; --store does not go with a data directory.
func TestBenchStoreFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--nodes", "2"},
		{"bench", "--store", "postgres://127.0.0.1:1/x", "--data", t.TempDir()},
		{"bench", "--store", "postgres://127.0.0.1:1/x", "--remote"},
		{"bench", "--store", "postgres://127.0.0.1:1/x", "--nodes", "0"},
	} {
		if code, _, errs := runCmd(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errs)
		}
	}
}

// bench --in-memory keeps its data on the tmpfs /dev/shm, where it may
// store what a disk may: here 10,000 subscribers' settings document, over
// the 1 MiB Badger's memory mode holds (it answered 500), and leaves
// nothing behind.
func TestBenchInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions 10,000 pods")
	}
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		t.Skip("no /dev/shm")
	}
	code, out, errs := runCmd("bench", "--in-memory", "--duration", "1s", "--drain", "60s", "--json", "--connections", "1",
		"--producers", "1", "--users", "1", "--subscribers", "10000", "--fanout", "10000")
	if code != 0 {
		t.Fatalf("bench --in-memory: exit %d: %s", code, errs)
	}
	m := regexp.MustCompile(`in memory, data in (/dev/shm/\S+)`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no data directory on /dev/shm in the progress output: %q", errs)
	}
	if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after the run: %v, want it removed", m[1], err)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json output %q: %v", out, err)
	}
	if res.Publishes == 0 || res.Errors != 0 || !res.Drained || res.CopiesRead != res.Publishes*10000 {
		t.Errorf("result: %+v", res)
	}
}
