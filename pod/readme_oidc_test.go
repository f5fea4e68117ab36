package pod_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReadmeSolidOIDC runs the "Log in with Solid-OIDC" section of the
// README against `podserver serve --demo`: its curl commands (alice's
// password, client credentials) print what the README shows, and its
// Node snippet, run as written with the pinned solid-client-authn-node
// and a client made with the owner key, logs in and reads alice's note.
func TestReadmeSolidOIDC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README walk-through needs %s: %v", tool, err)
		}
	}
	fences := readmeFences(t, "## Log in with Solid-OIDC", "### Revoking")
	bin := buildBinary(t)
	srv, base := runServe(t, bin, "--demo", "--addr", "127.0.0.1:0", "--log-level", "error", "--data", t.TempDir())
	defer stopServe(t, srv)
	runReadmeScript(t, fences, base)

	var snippet string
	for _, f := range fences {
		if f.lang == "js" {
			snippet = f.text
		}
	}
	if snippet == "" {
		t.Fatal("the section has no js block")
	}
	needOIDCNode(t)
	const ownerKey = "pk_demo_alice_owner_0123456789"
	note := "Hello from the README test\n"
	if st, _, body := conDo(t, "PUT", base+"/alice/notes/hello.txt", ownerKey, "text/plain", note); st != http.StatusCreated && st != http.StatusNoContent {
		t.Fatalf("put the note: %d %s", st, body)
	}
	_, _, out := conDo(t, "POST", base+"/alice/settings/clients/", ownerKey, "application/json", `{"name": "readme"}`)
	var c ownerClient
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Secret == "" {
		t.Fatalf("create a client: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--input-type=module")
	cmd.Dir = oidcNodeDir
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(snippet, readmeBase, base))
	cmd.Env = append(os.Environ(), "CLIENT_ID="+c.ID, "CLIENT_SECRET="+c.Secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's Node snippet: %v\n%s", err, stderr.String())
	}
	if got, want := stdout.String(), "200 "+note+"\n"; got != want {
		t.Errorf("the README's Node snippet prints %q, want %q", got, want)
	}
}
