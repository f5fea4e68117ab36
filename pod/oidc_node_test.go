package pod_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"podserver/conformance"
	"podserver/pod"
	"podserver/podtest"
)

// oidcNodeDir holds the Node script and its pinned npm packages.
const oidcNodeDir = "testdata/oidcnode"

// needOIDCNode skips t when Node.js or the npm packages of
// testdata/oidcnode are missing, and fails it instead with
// PODSERVER_CONFORMANCE=1 (as .ci/run sets, after npm ci there).
func needOIDCNode(t testing.TB) {
	t.Helper()
	var why error
	if _, err := exec.LookPath("node"); err != nil {
		why = fmt.Errorf("node not found: %w", err)
	} else if _, err := os.Stat(filepath.Join(oidcNodeDir, "node_modules", "@inrupt", "solid-client-authn-node")); err != nil {
		why = fmt.Errorf("@inrupt/solid-client-authn-node missing: run npm ci in pod/%s", oidcNodeDir)
	}
	if why == nil {
		return
	}
	if os.Getenv(conformance.EnvRequire) == "1" {
		t.Fatalf("Solid client library for Node unavailable (%s=1): %v", conformance.EnvRequire, why)
	}
	t.Skipf("Solid client library for Node unavailable: %v (install Node.js, run npm ci in pod/%s)", why, oidcNodeDir)
}

// nodeLogin is what testdata/oidcnode/login.mjs prints.
type nodeLogin struct {
	WebID      string `json:"webId"`
	IsLoggedIn bool   `json:"isLoggedIn"`
	Read       struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"read"`
	Write struct {
		Status int `json:"status"`
	} `json:"write"`
	LoggedOut bool `json:"loggedOut"`
}

// runNodeLogin runs login.mjs with env; it returns its output, or the
// error with stderr.
func runNodeLogin(t testing.TB, env map[string]string) (nodeLogin, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "login.mjs")
	cmd.Dir = oidcNodeDir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = 5 * time.Second
	var r nodeLogin
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("output %q: %w", out.String(), err)
	}
	return r, nil
}

// TestOIDCNodeClientCredentials logs in with Inrupt's Solid client library
// for Node (@inrupt/solid-client-authn-node, from the npm registry, pinned
// in testdata/oidcnode/package-lock.json) using client credentials the
// owner made through {pod}/settings/clients/, with DPoP: it reads a
// private resource of alice's pod and writes another with session.fetch.
// Deleting the client then makes the same login fail.
func TestOIDCNodeClientCredentials(t *testing.T) {
	needOIDCNode(t)
	// No AllowPrivateTargets: the server verifies its own tokens with its
	// own keys, with no fetch, though its base URL is on loopback.
	s := podtest.RunServer(t, pod.Options{})
	root := s.PodRoot("alice")
	secretText := fmt.Sprintf("alice's private note %d\n", time.Now().UnixNano())
	readURL := root + "private/node-read.txt"
	writeURL := root + "private/node-written.txt"
	if st, _, body := conDo(t, "PUT", readURL, conAliceKey, "text/plain", secretText); st != http.StatusCreated && st != http.StatusNoContent {
		t.Fatalf("put %s: %d %s", readURL, st, body)
	}
	if st, _, _ := conDo(t, "GET", readURL, "", "", ""); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Fatalf("anonymous GET of the private resource: %d, want 401 or 403", st)
	}
	c := createClient(t, s, "alice", conAliceKey, "node script")
	written := fmt.Sprintf("written from Node %d\n", time.Now().UnixNano())
	env := map[string]string{
		"OIDC_ISSUER": issuerOf(s), "CLIENT_ID": c.ID, "CLIENT_SECRET": c.Secret,
		"READ_URL": readURL, "WRITE_URL": writeURL, "WRITE_BODY": written,
	}
	r, err := runNodeLogin(t, env)
	if err != nil {
		t.Fatalf("node login: %v", err)
	}
	if !r.IsLoggedIn || r.WebID != s.WebID("alice") {
		t.Errorf("session: logged in %v as %q, want %q", r.IsLoggedIn, r.WebID, s.WebID("alice"))
	}
	if r.Read.Status != http.StatusOK || r.Read.Body != secretText {
		t.Errorf("session.fetch GET: %d %q, want 200 %q", r.Read.Status, r.Read.Body, secretText)
	}
	if r.Write.Status != http.StatusCreated && r.Write.Status != http.StatusNoContent {
		t.Errorf("session.fetch PUT: %d", r.Write.Status)
	}
	if st, _, body := conDo(t, "GET", writeURL, conAliceKey, "", ""); st != http.StatusOK || body != written {
		t.Errorf("the resource Node wrote: %d %q, want 200 %q", st, body, written)
	}
	if !r.LoggedOut {
		t.Error("session.logout left the session logged in")
	}
	_, _, list := conDo(t, "GET", s.PodRoot("alice")+"settings/clients/", conAliceKey, "", "")
	var listed struct {
		Clients []struct {
			ID       string `json:"id"`
			LastUsed string `json:"lastUsed"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(list), &listed); err != nil || len(listed.Clients) != 1 || listed.Clients[0].ID != c.ID || listed.Clients[0].LastUsed == "" {
		t.Errorf("clients after the login: %s (%v); want the one client, with lastUsed", list, err)
	}

	// Deleted: the library's login is refused.
	if st, _, body := conDo(t, "DELETE", c.URL, conAliceKey, "", ""); st != http.StatusNoContent {
		t.Fatalf("delete the client: %d %s", st, body)
	}
	if _, err := runNodeLogin(t, env); err == nil {
		t.Error("the login of a deleted client succeeded")
	} else if !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("the login of a deleted client failed, but not with invalid_client: %v", err)
	}
}
