//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// standbyName is the standby's cluster_name, which its WAL receiver
// reports as application_name, and so the name the primary's
// synchronous_standby_names gives.
const standbyName = "standby"

// haWait bounds each wait of the HA harness: a start, the standby
// becoming synchronous, the primary's death, the promotion.
const haWait = 60 * time.Second

// HA is a PostgreSQL primary with a synchronous streaming standby, for
// failover tests: two throwaway clusters of their own (not the shared
// Cluster), each in its own directory on its own loopback port.
//
// Unlike Cluster, both run with fsync on: a failover test is about losing
// nothing. The primary runs with wal_level=replica, synchronous_commit=on
// and synchronous_standby_names naming the standby, so a COMMIT returns
// only once the standby has flushed its WAL. The standby is a
// pg_basebackup -R copy, streaming from the primary, without
// synchronous_standby_names of its own: once promoted it is a primary
// alone, whose commits must not wait for a standby that does not exist.
//
// Its methods fail the test that started it, so they must be called from
// that test's goroutine.
type HA struct {
	t       testing.TB
	pg      *Cluster // its bin and asUser run the commands; never started
	dir     string
	primary haNode
	standby haNode
	killed  bool
}

type haNode struct {
	data string // data directory
	port int
}

// StartHA starts a primary and its synchronous standby, and returns once
// the standby streams with sync_state 'sync'. Both are stopped and their
// directories removed when t ends. Without PostgreSQL it skips t, or
// fails it if EnvRequire is 1.
func StartHA(t testing.TB) *HA {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		if os.Getenv(EnvRequire) != "1" {
			t.Skipf("PostgreSQL HA tests skipped: %v (install Debian's postgresql package, or set %s to a directory with PostgreSQL's binaries; set %s=1 to make this a failure)", err, EnvBin, EnvRequire)
		}
		t.Fatalf("PostgreSQL: %v", err)
	}
	asUser, uid, gid, err := postgresUser()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "podserver-pgha-")
	if err != nil {
		t.Fatal(err)
	}
	h := &HA{t: t, pg: &Cluster{bin: bin, asUser: asUser}, dir: dir}
	t.Cleanup(h.stop)
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	h.primary.data = filepath.Join(dir, "primary")
	if err := h.pg.run("initdb", "-D", h.primary.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"); err != nil {
		t.Fatal(err)
	}
	// Settings both nodes run with; synchronous_standby_names is the
	// primary's alone.
	common := "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_level=replica -c max_wal_senders=4 -c max_connections=100"
	h.primary.port = h.start(h.primary.data, "primary.log", common+" -c cluster_name=primary -c synchronous_standby_names="+standbyName)

	// pg_basebackup -R writes standby.signal and primary_conninfo: the
	// copy starts as a standby streaming from the primary.
	h.standby.data = filepath.Join(dir, standbyName)
	if err := h.pg.run("pg_basebackup", "-D", h.standby.data, "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", strconv.Itoa(h.primary.port), "-U", "postgres"); err != nil {
		t.Fatal(err)
	}
	h.standby.port = h.start(h.standby.data, "standby.log", common+" -c cluster_name="+standbyName)

	err = h.poll(func(ctx context.Context) (bool, error) {
		var n int
		err := queryRow(ctx, h.PrimaryURL(), `SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming' AND sync_state = 'sync'`, []any{standbyName}, &n)
		return n == 1, err
	})
	if err != nil {
		t.Fatalf("the standby did not become a streaming synchronous standby: %v; logs:\n%s", err, h.logs())
	}
	return h
}

// postgresUser returns the command prefix that runs PostgreSQL's binaries
// as the postgres user, and that user's ids, when the process is root
// (PostgreSQL refuses root); otherwise nothing, and uid -1.
func postgresUser() (asUser []string, uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return []string{"runuser", "-u", "postgres", "--"}, uid, gid, nil
}

// start starts the cluster in data on a free loopback port with the
// given server options and returns the port. A free port can be taken
// between the probe and the start: it retries.
func (h *HA) start(data, log, opts string) int {
	h.t.Helper()
	var err error
	for range 3 {
		var port int
		port, err = freePort()
		if err != nil {
			break
		}
		o := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s %s", port, h.dir, opts)
		err = h.pg.run("pg_ctl", "-D", data, "-l", filepath.Join(h.dir, log), "-w", "-t", "60", "-o", o, "start")
		if err == nil {
			return port
		}
	}
	h.t.Fatalf("start %s: %v; logs:\n%s", data, err, h.logs())
	return 0
}

// URL returns the multi-host URL of the pair, as nodes use it: the
// primary and the standby, target_session_attrs=read-write (a connection
// goes to whichever accepts writes, so it follows a promotion) and a
// connect_timeout of 2 seconds per host.
func (h *HA) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		h.primary.port, h.standby.port)
}

// PrimaryURL returns a URL of the primary alone.
func (h *HA) PrimaryURL() string { return nodeURL(h.primary.port) }

// StandbyURL returns a URL of the standby alone (read-only until
// Promote).
func (h *HA) StandbyURL() string { return nodeURL(h.standby.port) }

func nodeURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
}

// KillPrimary kills the primary with SIGKILL: the postmaster and its
// process group (pg_ctl starts the postmaster in a session of its own, so
// the group is the postmaster and its backends, WAL sender included), so
// no backend keeps serving. It returns once the primary's port refuses
// connections.
func (h *HA) KillPrimary() {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.primary.data, "postmaster.pid"))
	if err != nil {
		h.t.Fatalf("kill the primary: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 1 {
		h.t.Fatalf("kill the primary: postmaster.pid starts with %q", first)
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		h.t.Fatalf("kill the primary: the postmaster %d does not lead its process group (getpgid: %d, %v)", pid, pgid, err)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		h.t.Fatalf("kill the primary's process group %d: %v", pid, err)
	}
	h.killed = true
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(h.primary.port))
	err = h.poll(func(ctx context.Context) (bool, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return true, nil
		}
		c.Close()
		return false, errors.New("its port still accepts connections")
	})
	if err != nil {
		h.t.Fatalf("kill the primary: %v", err)
	}
}

// Promote promotes the standby (pg_ctl promote) and returns once it
// accepts writes.
func (h *HA) Promote() {
	h.t.Helper()
	if err := h.pg.run("pg_ctl", "-D", h.standby.data, "-w", "-t", "60", "promote"); err != nil {
		h.t.Fatalf("promote the standby: %v", err)
	}
	err := h.poll(func(ctx context.Context) (bool, error) {
		var recovering bool
		err := queryRow(ctx, h.StandbyURL()+"&target_session_attrs=read-write", `SELECT pg_is_in_recovery()`, nil, &recovering)
		return err == nil && !recovering, err
	})
	if err != nil {
		h.t.Fatalf("the promoted standby does not accept writes: %v; logs:\n%s", err, h.logs())
	}
}

// poll calls ok every 50ms until it reports true, or fails with its last
// error after haWait.
func (h *HA) poll(ok func(ctx context.Context) (bool, error)) error {
	deadline := time.Now().Add(haWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done, err := ok(ctx)
		cancel()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %v: %w", haWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// queryRow runs one query on its own connection and scans its row.
func queryRow(ctx context.Context, url, sql string, args []any, dest ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.QueryRow(ctx, sql, args...).Scan(dest...)
}

// logs returns both servers' logs, for a failure message.
func (h *HA) logs() string {
	var b strings.Builder
	for _, name := range []string{"primary.log", "standby.log"} {
		log, _ := os.ReadFile(filepath.Join(h.dir, name))
		fmt.Fprintf(&b, "--- %s\n%s", name, log)
	}
	return b.String()
}

// stop stops both servers (a killed primary is not stopped again) and
// removes their directory.
func (h *HA) stop() {
	if h.standby.port != 0 {
		_ = h.pg.run("pg_ctl", "-D", h.standby.data, "-m", "immediate", "-w", "stop")
	}
	if h.primary.port != 0 && !h.killed {
		_ = h.pg.run("pg_ctl", "-D", h.primary.data, "-m", "immediate", "-w", "stop")
	}
	_ = os.RemoveAll(h.dir)
}
