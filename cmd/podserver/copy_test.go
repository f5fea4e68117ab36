package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// The demo fixtures' keys (fixtures/demo.json, public).
const (
	producerKey = "pk_demo_producer_publisher_0123456789"
	crmKey      = "pk_demo_crm_owner_0123456789"
)

// kv is one key and value of a store.
type kv struct{ k, v string }

// storeData returns the data keys (no store-internal ones) of the Badger
// store in dir and its LastSeq.
func storeData(t *testing.T, dir string) ([]kv, uint64) {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []kv
	err = s.View(context.Background(), func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			if !strings.HasPrefix(string(k), store.PrefixMeta) {
				out = append(out, kv{string(k), string(v)})
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := s.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out, seq
}

// httpDo sends a request and returns the status and body.
func httpDo(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// publish publishes the README's example event from producer to alice
// and returns crm's inbox item names (16 hex digits of their sequence
// numbers) afterwards.
func publish(t *testing.T, s *pod.Server) []string {
	t.Helper()
	ev := `{"recipient": "` + s.WebID("alice") + `", "source": "` + s.WebID("bob") + `", "topic": "realestate/contact#add",
		"data": {"type": "AddAction", "object": {"type": "Contact", "name": "Bruce Wayne"}}}`
	if code, body := httpDo(t, "POST", s.PodRoot("producer")+"publish/", producerKey, ev); code != http.StatusCreated {
		t.Fatalf("publish: %d %s", code, body)
	}
	code, body := httpDo(t, "GET", s.PodRoot("crm")+"inbox/", crmKey, "")
	if code != http.StatusOK {
		t.Fatalf("crm inbox: %d %s", code, body)
	}
	var page struct {
		Contains []struct {
			URL string `json:"url"`
		} `json:"contains"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("crm inbox: %v: %s", err, body)
	}
	var names []string
	for _, it := range page.Contains {
		names = append(names, it.URL[strings.LastIndex(it.URL, "/")+1:])
	}
	return names
}

// profile returns alice's public profile with the server's base URL cut
// out, so that servers on other ports compare equal.
func profile(t *testing.T, s *pod.Server) string {
	t.Helper()
	code, body := httpDo(t, "GET", s.PodRoot("alice")+"profile/card", "", "")
	if code != http.StatusOK {
		t.Fatalf("alice's profile: %d %s", code, body)
	}
	return strings.ReplaceAll(body, strings.TrimSuffix(s.BaseURL(), "/"), "BASE")
}

// demo is a Badger store with the demo pods and one published event, as
// its server left it.
type demo struct {
	dir  string
	addr string   // where its server listened: the pods' URLs, and so their settings, name it
	prof string   // alice's profile
	crm  []string // crm's inbox item names
}

// demoStore makes a demo store in a new directory.
func demoStore(t *testing.T) demo {
	t.Helper()
	d := demo{dir: t.TempDir()}
	s, stop := podtest.RunStoppable(t, pod.Options{DataDir: d.dir})
	d.addr = strings.TrimPrefix(s.BaseURL(), "http://")
	d.crm = publish(t, s)
	if len(d.crm) != 1 {
		t.Fatalf("crm's inbox holds %d items after one publish; want 1", len(d.crm))
	}
	d.prof = profile(t, s)
	stop()
	return d
}

// checkServes starts a server on the Badger store in dir, at the address
// src's listened on, and checks that it serves alice's profile as src's
// did, and that a publish gets a sequence number above srcSeq.
func checkServes(t *testing.T, dir string, src demo, srcSeq uint64) {
	t.Helper()
	prof, srcItems := src.prof, src.crm
	s, err := pod.New(pod.Options{DataDir: dir, Addr: src.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if got := profile(t, s); got != prof {
		t.Errorf("alice's profile on the copy:\n%s\nwant the source's:\n%s", got, prof)
	}
	items := publish(t, s)
	if len(items) != len(srcItems)+1 || !slices.Equal(items[:len(srcItems)], srcItems) {
		t.Fatalf("crm's inbox on the copy after a publish: %v; want %v and one more", items, srcItems)
	}
	seq, err := strconv.ParseUint(items[len(items)-1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	if seq <= srcSeq {
		t.Errorf("the publish on the copy got sequence %d; want above the source's %d", seq, srcSeq)
	}
}

// TestCopyCommand: podserver copy round-trips the demo data Badger ->
// file -> Badger with identical contents, and a server on the copy serves
// the same; a held source, a non-empty destination and a corrupt file are
// refused with a clear message.
func TestCopyCommand(t *testing.T) {
	d := demoStore(t)
	src := d.dir
	srcData, srcSeq := storeData(t, src)
	work := t.TempDir()
	file := filepath.Join(work, "demo.podbackup")

	// A source held by a server is refused, saying what to do.
	held, err := pod.New(pod.Options{DataDir: src, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd("copy", "--from", src, "--to", file)
	_ = shutdown(held)
	if code != 1 || !strings.Contains(errs, "in use") || !strings.Contains(errs, "stop it first") {
		t.Errorf("copy from a held directory: %d %q; want 1, saying it is in use", code, errs)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the refused copy left %s: %v", file, err)
	}

	code, out, errs := runCmd("copy", "--from", src, "--to", file)
	if code != 0 {
		t.Fatalf("copy to a file: %d %s", code, errs)
	}
	wantOut := "copied " + strconv.Itoa(len(srcData)) + " keys, "
	if !strings.HasPrefix(out, wantOut) || !strings.Contains(out, "sequence "+strconv.FormatUint(srcSeq, 10)+",") {
		t.Errorf("copy printed %q; want %q... and sequence %d", out, wantOut, srcSeq)
	}
	dst := filepath.Join(work, "copy")
	if code, _, errs := runCmd("copy", "--from", file, "--to", dst); code != 0 {
		t.Fatalf("copy from a file: %d %s", code, errs)
	}
	dstData, dstSeq := storeData(t, dst)
	if !slices.Equal(dstData, srcData) || dstSeq != srcSeq {
		t.Fatalf("the copy holds %d pairs and sequence %d; the source %d and %d, or they differ", len(dstData), dstSeq, len(srcData), srcSeq)
	}

	// Into the non-empty copy: refused, then replaced with --force.
	code, _, errs = runCmd("copy", "--from", file, "--to", dst)
	if code != 1 || !strings.Contains(errs, "not empty") || !strings.Contains(errs, "--force") {
		t.Errorf("copy into a non-empty store: %d %q; want 1, naming --force", code, errs)
	}
	code, out, errs = runCmd("copy", "--from", file, "--to", dst, "--force")
	if code != 0 || !strings.Contains(out, "deleted the "+strconv.Itoa(len(srcData))+" keys") {
		t.Errorf("copy --force: %d %q %s", code, out, errs)
	}
	checkServes(t, dst, d, srcSeq)

	// A damaged file is refused and the destination stays empty.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	bad := filepath.Join(work, "bad.podbackup")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(work, "empty")
	code, _, errs = runCmd("copy", "--from", bad, "--to", empty)
	if code != 1 || !strings.Contains(errs, "corrupt backup file") {
		t.Errorf("copy from a damaged file: %d %q; want 1 and a word about corruption", code, errs)
	}
	if d, _ := storeData(t, empty); len(d) != 0 {
		t.Errorf("the refused copy wrote %d keys", len(d))
	}
}

// TestCopyUsage: what copy refuses before it opens anything.
func TestCopyUsage(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(plain, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", dir}, "--from is required"},
		{[]string{"--from", dir}, "--to is required"},
		{[]string{"--from", dir, "--to", dir + "/"}, "same store"},
		{[]string{"--from", plain, "--to", filepath.Join(dir, "x")}, "is a file"},
		{[]string{"--from", "a.podbackup", "--to", "b.podbackup"}, "both sides are backup files"},
		{[]string{"--from", dir, "--to", filepath.Join(dir, "x"), "extra"}, "unexpected argument"},
	} {
		code, _, errs := runCmd(append([]string{"copy"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("copy %v: %d %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	if code, _, errs := runCmd("copy", "--from", filepath.Join(dir, "missing"), "--to", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("copy from a missing directory: %d %q", code, errs)
	}
}

// TestCopyCommandPostgres: the demo data Badger -> PostgreSQL -> Badger
// with identical contents, and a server on the copy serves the same.
func TestCopyCommandPostgres(t *testing.T) {
	url := pgCluster.URL(t)
	d := demoStore(t)
	src := d.dir
	srcData, srcSeq := storeData(t, src)
	if code, out, errs := runCmd("copy", "--from", src, "--to", url); code != 0 || !strings.HasPrefix(out, "copied "+strconv.Itoa(len(srcData))+" keys") {
		t.Fatalf("copy to PostgreSQL: %d %q %s", code, out, errs)
	}
	dst := filepath.Join(t.TempDir(), "back")
	if code, _, errs := runCmd("copy", "--from", url, "--to", dst); code != 0 {
		t.Fatalf("copy from PostgreSQL: %d %s", code, errs)
	}
	dstData, dstSeq := storeData(t, dst)
	if !slices.Equal(dstData, srcData) || dstSeq < srcSeq {
		t.Fatalf("Badger -> PostgreSQL -> Badger: %d pairs, sequence %d; the source %d and %d, or they differ", len(dstData), dstSeq, len(srcData), srcSeq)
	}
	checkServes(t, dst, d, srcSeq)
}
