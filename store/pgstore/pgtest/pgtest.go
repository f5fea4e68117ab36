// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb in
// a temporary directory, the server on a random loopback port with its
// socket in that directory, all of it removed by Stop. Run as root, the
// cluster's commands run as the postgres user (PostgreSQL refuses root).
//
// Without PostgreSQL binaries (looked for in /usr/lib/postgresql/*/bin,
// or the directory PODSERVER_POSTGRES_BIN names) the tests that ask for a
// database skip, saying how to enable them; with PODSERVER_POSTGRES_TESTS=1
// a missing PostgreSQL fails them instead (CI sets it).
//
// One Cluster serves a whole test package run, started on first use; each
// test gets a fresh schema, dropped at its end. The cluster runs with
// fsync off: the tests prove behaviour, not crash safety of the disk.
//
// Use it from TestMain:
//
//	var cluster = pgtest.New()
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		cluster.Stop()
//		os.Exit(code)
//	}
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvRequire, set to 1, makes a missing PostgreSQL a test failure.
const EnvRequire = "PODSERVER_POSTGRES_TESTS"

// EnvBin names a directory holding initdb and pg_ctl.
const EnvBin = "PODSERVER_POSTGRES_BIN"

// Cluster is a throwaway PostgreSQL cluster, started on first use.
type Cluster struct {
	once    sync.Once
	err     error // why the cluster is not available
	missing bool  // err is: no PostgreSQL binaries
	bin     string
	dir     string
	admin   string // URL of the postgres database as superuser
	asUser  []string
	opts    string // the server's options (pg_ctl -o)
	schemas atomic.Int64
}

// New returns a Cluster that starts on its first URL call.
func New() *Cluster { return &Cluster{} }

// URL returns a connection URL to a fresh, empty schema of the cluster
// (as the search_path of its connections), dropped when t ends. Without
// PostgreSQL it skips t, or fails it if EnvRequire is 1.
func (c *Cluster) URL(t testing.TB) string {
	t.Helper()
	c.once.Do(c.start)
	if c.err != nil {
		if c.missing && os.Getenv(EnvRequire) != "1" {
			t.Skipf("PostgreSQL tests skipped: %v (install Debian's postgresql package, or set %s to a directory with initdb and pg_ctl; set %s=1 to make this a failure)", c.err, EnvBin, EnvRequire)
		}
		t.Fatalf("PostgreSQL: %v", c.err)
	}
	schema := fmt.Sprintf("t%d_%d", os.Getpid(), c.schemas.Add(1))
	if err := c.exec(fmt.Sprintf("CREATE SCHEMA %s", schema)); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := c.exec(fmt.Sprintf("DROP SCHEMA %s CASCADE", schema)); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return c.admin + "&search_path=" + schema
}

// exec runs one statement on the postgres database.
func (c *Cluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// findBin returns the directory of the newest PostgreSQL's binaries.
func findBin() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("%s=%s holds no initdb", EnvBin, d)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
}

func (c *Cluster) start() {
	bin, err := findBin()
	if err != nil {
		c.err, c.missing = err, true
		return
	}
	c.bin = bin
	dir, err := os.MkdirTemp("", "podserver-pg-")
	if err != nil {
		c.err = err
		return
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			c.err = fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			c.err = err
			return
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		c.err = err
		return
	}
	// A free port can be taken between the probe and the start: retry.
	for range 3 {
		var port int
		port, err = freePort()
		if err != nil {
			break
		}
		opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
		err = c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			c.opts = opts
			c.admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	c.err = fmt.Errorf("%w; server log:\n%s", err, log)
}

// run runs one of the cluster's binaries, as the postgres user when root.
func (c *Cluster) run(name string, args ...string) error {
	argv := append(slices.Clone(c.asUser), filepath.Join(c.bin, name))
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out.Bytes())
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the cluster, if it started, and removes its directory.
func (c *Cluster) Stop() {
	if c.dir == "" {
		return
	}
	if c.admin != "" {
		_ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	_ = os.RemoveAll(c.dir)
}
