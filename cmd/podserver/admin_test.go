package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"podserver/pod"
)

// TestServerCommands: with --server, the pod and key commands work
// through a running server, whose data directory they could not open:
// pods through the operator API, keys through the pod's key API with an
// owner key. Without --server the directory is in use and they fail.
func TestServerCommands(t *testing.T) {
	dir := t.TempDir()
	const opKey = "op_test_0123456789abcdef"
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: dir, OperatorKey: opKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := s.BaseURL()
	srv := []string{"--server", base, "--operator-key", opKey}

	if code, _, errs := runCmd("pod", "list", "--data", dir); code != 1 || !strings.Contains(errs, "in use") {
		t.Errorf("pod list on a held directory: %d %s, want 1 and 'in use'", code, errs)
	}
	code, out, errs := runCmd(append([]string{"pod", "create", "dave"}, srv...)...)
	owner := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(owner, "pk_") {
		t.Fatalf("pod create --server: %d %q %s", code, out, errs)
	}
	if code, out, errs := runCmd(append([]string{"pod", "list"}, srv...)...); code != 0 || !strings.Contains(out, "dave\t"+s.PodRoot("dave")) || !strings.Contains(out, "\tactive") {
		t.Errorf("pod list --server: %d %q %s", code, out, errs)
	}
	if code, _, errs := runCmd("pod", "list", "--server", base, "--operator-key", "op_wrong_0123456789abcdef"); code != 1 || !strings.Contains(errs, "401") {
		t.Errorf("pod list with a wrong operator key: %d %s, want 1 and 401", code, errs)
	}
	if code, _, errs := runCmd("pod", "list", "--server", base); code != 2 {
		t.Errorf("pod list --server without a key: %d %s, want 2", code, errs)
	}
	for _, sub := range []string{"disable", "enable"} {
		if code, _, errs := runCmd(append([]string{"pod", sub, "dave"}, srv...)...); code != 0 {
			t.Errorf("pod %s --server: %d %s", sub, code, errs)
		}
	}

	keySrv := []string{"--pod", "dave", "--server", base, "--key", owner}
	code, out, errs = runCmd(append([]string{"key", "create", "--app", "sync"}, keySrv...)...)
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "pk_") {
		t.Fatalf("key create --server: %d %q %s", code, out, errs)
	}
	// The owner key's last use is written asynchronously after the
	// request that used it (acl.Keys.touch), so the listing may show it
	// a moment later: list again until it does, for at most 5s.
	var ownerID, ownerLine string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, out, errs = runCmd(append([]string{"key", "list"}, keySrv...)...)
		if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "\tsync\tapp\t") || !strings.Contains(out, "\towner\t") {
			t.Fatalf("key list --server: %d %q %s", code, out, errs)
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Split(l, "\t"); len(f) == 5 && f[2] == "owner" {
				ownerID, ownerLine = f[0], l
			}
		}
		if !strings.HasSuffix(ownerLine, "\t-") || time.Now().After(deadline) {
			break
		}
	}
	if strings.HasSuffix(ownerLine, "\t-") {
		t.Errorf("the owner key's last use is not shown within 5s of its use: %q", ownerLine)
	}
	if code, _, errs := runCmd(append([]string{"key", "revoke", ownerID}, keySrv...)...); code != 1 || !strings.Contains(errs, "last owner key") {
		t.Errorf("revoking the last owner key through the server: %d %s, want 1 and the reason", code, errs)
	}
	if code, _, errs := runCmd(append([]string{"pod", "delete", "dave"}, srv...)...); code != 0 {
		t.Errorf("pod delete --server: %d %s", code, errs)
	}
	if code, out, _ := runCmd(append([]string{"pod", "list"}, srv...)...); strings.Contains(out, "dave") {
		t.Errorf("dave listed after delete: %d %q", code, out)
	}
}

// TestKeyOwnerCommands: key create --owner makes another owner key; the
// last owner key is refused by key revoke unless --force, which says what
// it did.
func TestKeyOwnerCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd("pod", "create", "erin", "--data", dir); code != 0 {
		t.Fatalf("pod create: %d %s", code, errs)
	}
	if code, out, errs := runCmd("key", "create", "--pod", "erin", "--owner", "--data", dir); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "pk_") {
		t.Fatalf("key create --owner: %d %q %s", code, out, errs)
	}
	_, out, _ := runCmd("key", "list", "--pod", "erin", "--data", dir)
	var owners []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(l, "\t"); len(f) == 5 && f[2] == "owner" {
			owners = append(owners, f[0])
		}
	}
	if len(owners) != 2 {
		t.Fatalf("key list: %q, want two owner keys", out)
	}
	if code, _, errs := runCmd("key", "revoke", "--pod", "erin", "--data", dir, owners[0]); code != 0 {
		t.Fatalf("revoke one of two owner keys: %d %s", code, errs)
	}
	if code, _, errs := runCmd("key", "revoke", "--pod", "erin", "--data", dir, owners[1]); code != 1 || !strings.Contains(errs, "last owner key") {
		t.Errorf("revoke the last owner key: %d %s, want 1 and the reason", code, errs)
	}
	code, _, errs := runCmd("key", "revoke", "--pod", "erin", "--force", "--data", dir, owners[1])
	if code != 0 || !strings.Contains(errs, "nobody can administer it") {
		t.Errorf("revoke --force: %d %s, want 0 and what it did", code, errs)
	}
	if _, out, _ := runCmd("key", "list", "--pod", "erin", "--data", dir); strings.TrimSpace(out) != "" {
		t.Errorf("keys left after --force: %q", out)
	}
}
