package pod_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/podserver into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "podserver")
	cmd := exec.Command("go", "build", "-o", bin, "podserver/cmd/podserver")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// startBinary runs `podserver serve --demo` on a free loopback port over
// dataDir and returns the process and its base URL.
func startBinary(t *testing.T, bin, dataDir string) (*exec.Cmd, string) {
	t.Helper()
	return runServe(t, bin, "--demo", "--addr", "127.0.0.1:0", "--data", dataDir, "--log-level", "warn")
}

// runServe runs `podserver serve ARGS...`, waits for its "listening on"
// line and returns the process and the URL it printed. The process is
// killed when the test ends.
func runServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, u
		}
	}
	t.Fatal("server did not print its listening line")
	return nil, ""
}

// TestCrashKeepsAcknowledgedWrites kills the real server with SIGKILL while
// it takes concurrent writes; after a restart every write it acknowledged
// is there, intact.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd, base := startBinary(t, bin, dir)

	var mu sync.Mutex
	acked := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/alice/crash/w%d/r%d", w, i)
				body := fmt.Sprintf("writer %d record %d %s", w, i, strings.Repeat("x", i%300))
				req, _ := http.NewRequest("PUT", base+path, strings.NewReader(body))
				req.Header.Set("x-api-key", aliceKey)
				req.Header.Set("Content-Type", "text/plain")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[path] = body
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves little", len(acked))
	}

	// Not --demo, which would reset the demo pods.
	_, base2 := runServe(t, bin, "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn")
	missing := 0
	for path, body := range acked {
		r := do(t, base2, call{method: "GET", path: path, key: aliceKey})
		if r.status != 200 || r.body != body {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged %s: after restart %d %q", path, r.status, r.body)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", missing, len(acked))
	}
	t.Logf("%d acknowledged writes all survived SIGKILL", len(acked))
}
