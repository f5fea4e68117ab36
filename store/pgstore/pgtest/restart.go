package pgtest

import (
	"path/filepath"
	"testing"
)

// Restart stops the cluster's server (fast shutdown: sessions are ended),
// calls down while it is stopped, and starts it again on the same port
// with the same options. The cluster must have been started (by a URL
// call); the schemas and their data survive.
func (c *Cluster) Restart(t testing.TB, down func()) {
	t.Helper()
	if c.admin == "" {
		t.Fatal("pgtest: Restart before the cluster started")
	}
	data := filepath.Join(c.dir, "data")
	if err := c.run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	defer func() {
		if err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "-o", c.opts, "start"); err != nil {
			t.Fatalf("start the server again: %v", err)
		}
	}()
	down()
}
