package pod_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"podserver/apierr"
	"podserver/pod"
	"podserver/podtest"
	"podserver/podtest/lockedbuf"
	"podserver/store"
)

// mountTmpfs mounts a tmpfs of size (e.g. "64m") on a new directory and
// unmounts it when the test ends, after the servers registered later have
// stopped.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// diskBody is the body of the i-th resource the test writes: every other
// one is above the store's value threshold (64 KiB), so both Badger's WAL
// and its value log fill.
func diskBody(i int) string {
	size := 8 << 10
	if i%2 == 0 {
		size = 128 << 10
	}
	head := fmt.Sprintf("resource %d ", i)
	return head + strings.Repeat(string(rune('a'+i%26)), size-len(head))
}

// metricValue returns the value of the sample named name in a /metrics
// body ("" when absent).
func metricValue(body, name string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// metricsMismatch lists the samples named in want whose value in a
// /metrics body differs ("" when every one matches).
func metricsMismatch(body string, want map[string]float64) string {
	var bad []string
	for name, w := range want {
		got, err := strconv.ParseFloat(metricValue(body, name), 64)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("no %s in /metrics", name))
		case got != w:
			bad = append(bad, fmt.Sprintf("%s = %v, want %v", name, got, w))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, "\n")
}

// waitMetrics reads baseURL's /metrics until every sample named in want
// has its value, for up to 10 s. A counter moves after the commit it
// counts, so a client that saw the commit (a publish's ?wait, a
// delivery's status) can read /metrics a moment before the counter does.
func waitMetrics(t *testing.T, baseURL string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := evDo(t, evReq{method: "GET", url: baseURL + "/metrics"})
		bad := metricsMismatch(m.body, want)
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDiskFull runs a real server whose data directory is on a 64 MiB
// tmpfs, fills the disk with its own writes and then with a file of
// someone else's, and checks that it stays up: writes get 507 with the
// named message, acknowledged data stays readable, /healthz and /metrics
// show the condition, writes resume without a restart once space is back,
// and every acknowledged write survives a restart.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	mnt := mountTmpfs(t, "64m")
	dataDir := filepath.Join(mnt, "data")
	var logs lockedbuf.Buffer
	opts := pod.Options{
		DataDir: dataDir,
		// 2 MiB memtables: a 22 MiB reserve, and Badger flushes and
		// compacts many times while the disk fills.
		MemTableSize: 2 << 20,
		Logger:       slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	s, stop := podtest.RunStoppable(t, opts)
	base := s.BaseURL()
	acked := map[string]string{}
	put := func(i int) reply {
		path := fmt.Sprintf("/alice/disk/r%d", i)
		r := do(t, base, call{method: "PUT", path: path, key: aliceKey, ctype: "text/plain", body: diskBody(i)})
		if r.status == 201 {
			acked[path] = diskBody(i)
		}
		return r
	}
	var events []string
	publish := func() evResp {
		r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s))
		if r.status == 201 {
			u, err := url.Parse(r.hdr.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, u.Path)
		}
		return r
	}
	check507 := func(what string, status int, hdr map[string][]string, body string) {
		t.Helper()
		var got struct{ Error string }
		_ = json.Unmarshal([]byte(body), &got)
		if status != 507 || got.Error != apierr.MsgInsufficientStorage {
			t.Fatalf("%s while the disk is short: %d %s, want 507 with %q", what, status, body, apierr.MsgInsufficientStorage)
		}
	}
	health := func() map[string]any {
		t.Helper()
		r := do(t, base, call{method: "GET", path: "/healthz"})
		if r.status != 200 {
			t.Fatalf("healthz: %d %s", r.status, r.body)
		}
		var h map[string]any
		if err := json.Unmarshal([]byte(r.body), &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	checkShort := func(phase string) {
		t.Helper()
		h := health()
		disk, _ := h["disk"].(map[string]any)
		if h["status"] != "degraded" || disk["writable"] != false || disk["error"] == nil {
			t.Errorf("%s: healthz = %v, want degraded and not writable", phase, h)
		}
		m := do(t, base, call{method: "GET", path: "/metrics"}).body
		if v := metricValue(m, "podserver_store_disk_writable"); v != "0" {
			t.Errorf("%s: podserver_store_disk_writable = %q, want 0", phase, v)
		}
		if v := metricValue(m, "podserver_store_writes_refused_total"); v == "" || v == "0" {
			t.Errorf("%s: podserver_store_writes_refused_total = %q, want > 0", phase, v)
		}
		// Acknowledged data is still served.
		for path, body := range acked {
			if r := do(t, base, call{method: "GET", path: path, key: aliceKey}); r.status != 200 || r.body != body {
				t.Fatalf("%s: GET %s = %d (%d bytes), want the acknowledged body", phase, path, r.status, len(r.body))
			}
		}
		for _, ev := range events {
			if r := do(t, base, call{method: "GET", path: ev, key: evKeys.producerOwner}); r.status != 200 {
				t.Fatalf("%s: GET %s = %d", phase, ev, r.status)
			}
		}
	}
	checkWritable := func(phase string) {
		t.Helper()
		h := health()
		if disk, _ := h["disk"].(map[string]any); h["status"] != "ok" || disk["writable"] != true {
			t.Errorf("%s: healthz = %v, want ok and writable", phase, h)
		}
		m := do(t, base, call{method: "GET", path: "/metrics"}).body
		if v := metricValue(m, "podserver_store_disk_writable"); v != "1" {
			t.Errorf("%s: podserver_store_disk_writable = %q, want 1", phase, v)
		}
	}

	checkWritable("at start")
	if r := publish(); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}

	// 1. The server's own writes fill the disk down to the reserve.
	i := 0
	var full reply
	for ; i < 2000; i++ {
		if full = put(i); full.status != 201 {
			break
		}
	}
	check507("PUT", full.status, full.hdr, full.body)
	if full.hdr.Get("Retry-After") == "" {
		t.Errorf("507 without Retry-After")
	}
	if len(acked) < 50 {
		t.Fatalf("only %d writes before the disk was short; the test proves little", len(acked))
	}
	r := publish()
	check507("publish", r.status, r.hdr, r.body)
	checkShort("filled by the server")
	t.Logf("filled by the server after %d PUTs (%d acknowledged); free %d bytes; client got %d %s",
		i+1, len(acked), freeBytes(t, mnt), full.status, full.body)
	t.Logf("healthz while short: %s", do(t, base, call{method: "GET", path: "/healthz"}).body)

	// 2. The volume grows: writes resume without a restart.
	if out, err := exec.Command("mount", "-o", "remount,size=128m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	if r := put(i); r.status != 201 {
		t.Fatalf("PUT after the volume grew: %d %s", r.status, r.body)
	}
	i++
	if r := publish(); r.status != 201 {
		t.Fatalf("publish after the volume grew: %d %s", r.status, r.body)
	}
	checkWritable("after the volume grew")

	// 3. Another file on the same filesystem takes the space: the free
	// space left is half the reserve.
	sp := s.Store().(store.SpaceReporter).Space()
	filler := filepath.Join(mnt, "filler")
	fillTo(t, filler, freeBytes(t, mnt)-sp.Reserve/2)
	r2 := put(i)
	check507("PUT", r2.status, r2.hdr, r2.body)
	r = publish()
	check507("publish", r.status, r.hdr, r.body)
	if r := do(t, base, call{method: "DELETE", path: "/alice/disk/r1", key: aliceKey}); r.status != 507 {
		t.Errorf("DELETE while short: %d %s", r.status, r.body)
	}
	checkShort("filled by another file")
	metrics := do(t, base, call{method: "GET", path: "/metrics"}).body
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "podserver_store_") && !strings.HasPrefix(line, "podserver_store_commit") {
			t.Logf("metrics while short: %s", line)
		}
	}

	// 4. The file is deleted: writes resume without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for n := i + 5; i < n; i++ {
		if r := put(i); r.status != 201 {
			t.Fatalf("PUT after the filler was deleted: %d %s", r.status, r.body)
		}
	}
	if r := publish(); r.status != 201 {
		t.Fatalf("publish after the filler was deleted: %d %s", r.status, r.body)
	}
	checkWritable("after the filler was deleted")
	for _, l := range append(logs.Lines(`"msg":"store: disk`), logs.Lines("request refused: disk full")[:1]...) {
		t.Logf("log: %s", l)
	}
	if len(logs.Lines("store: disk nearly full: refusing writes")) != 2 || len(logs.Lines("store: disk space freed: accepting writes again")) != 2 {
		t.Errorf("want two shortages and two recoveries logged, got:\n%s", strings.Join(logs.Lines(`"msg":"store: disk`), "\n"))
	}

	// 5. Every acknowledged write survives a restart.
	stop()
	s = podtest.RunServer(t, opts)
	base = s.BaseURL()
	for path, body := range acked {
		if r := do(t, base, call{method: "GET", path: path, key: aliceKey}); r.status != 200 || r.body != body {
			t.Fatalf("after restart GET %s = %d (%d bytes), want the acknowledged body", path, r.status, len(r.body))
		}
	}
	for _, ev := range events {
		if r := do(t, base, call{method: "GET", path: ev, key: evKeys.producerOwner}); r.status != 200 {
			t.Fatalf("after restart GET %s = %d", ev, r.status)
		}
	}
	t.Logf("%d acknowledged resources and %d events all there after a restart", len(acked), len(events))
}

// fillTo writes a file of n bytes.
func fillTo(t *testing.T, path string, n uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n > 0 {
		c := chunk[:min(n, uint64(len(chunk)))]
		if _, err := f.Write(c); err != nil {
			t.Fatalf("write the filler: %v", err)
		}
		n -= uint64(len(c))
	}
}
