package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"podserver/store"
	"podserver/store/pgstore"
)

// bounded runs op and fails t if it has not returned within limit: the
// store must fail fast, not hang, when the database is gone. The limit is
// generous; it is a hang detector, not a measure of speed.
func bounded(t *testing.T, what string, limit time.Duration, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v with the database down", what, limit)
		return nil
	}
}

// recovers retries op until it succeeds; every failure meanwhile must be
// store.ErrUnavailable.
func recovers(t *testing.T, what string, op func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := op()
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s failed with %v; want store.ErrUnavailable or success", what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not work again: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setKey(s *pgstore.Store, k, v string) error {
	return s.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte(k), []byte(v)) })
}

func readKey(s *pgstore.Store, k string) (string, error) {
	var v []byte
	err := s.View(context.Background(), func(r store.Reader) error {
		var err error
		v, err = r.Get([]byte(k))
		return err
	})
	return string(v), err
}

// TestUnavailableServerDown stops the server: View, Update and Ping fail
// with store.ErrUnavailable instead of hanging, Stats says unreachable; once
// the server is back the same stores work again, and the feed's listener
// reconnects and reports what was written.
func TestUnavailableServerDown(t *testing.T) {
	url := cluster.URL(t)
	var rb recorder
	opts := pgstore.Options{ChangePrefixes: []string{"k"}, UnavailableTimeout: 2 * time.Second}
	a := openOpts(t, url, opts)
	opts.OnChange = rb.onChange
	_ = openOpts(t, url, opts) // B: a node with a feed
	if err := setKey(a, "k1", "before"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cluster.Restart(t, func() {
		for range 2 { // the first call may find dead pooled connections, the second none
			err := bounded(t, "Update", 15*time.Second, func() error { return setKey(a, "k2", "down") })
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Update with the server down = %v; want store.ErrUnavailable", err)
			}
			err = bounded(t, "View", 15*time.Second, func() error { _, err := readKey(a, "k1"); return err })
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("View with the server down = %v; want store.ErrUnavailable", err)
			}
			err = bounded(t, "Ping", 15*time.Second, func() error { return a.Ping(ctx) })
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Ping with the server down = %v; want store.ErrUnavailable", err)
			}
		}
		if a.Stats().Reachable {
			t.Error("Stats().Reachable with the server down")
		}
	})
	recovers(t, "Update after the restart", func() error { return setKey(a, "k3", "after") })
	recovers(t, "View after the restart", func() error {
		v, err := readKey(a, "k3")
		if err == nil && v != "after" {
			t.Fatalf("k3 = %q; want after", v)
		}
		return err
	})
	if err := a.Ping(ctx); err != nil {
		t.Errorf("Ping after the restart = %v", err)
	}
	if !a.Stats().Reachable {
		t.Error("Stats().Reachable is false after the restart")
	}
	if v, err := readKey(a, "k2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the update that failed while the server was down was kept: %q, %v", v, err)
	}
	eventually(t, "B's feed reports A's write after the restart", func() bool {
		for _, c := range rb.all() {
			if string(c.Key) == "k3" && string(c.Value) == "after" {
				return true
			}
		}
		return false
	})
}

// TestUnavailableTerminated ends every session of the database, as a
// failover or an administrator would: operations fail with
// store.ErrUnavailable or succeed on new connections, and the stores keep
// working without a restart.
func TestUnavailableTerminated(t *testing.T) {
	url := cluster.URL(t)
	a, b := open(t, url, feedNone), open(t, url, feedNone)
	for round := range 3 {
		// Busy connections in both pools.
		for _, s := range []*pgstore.Store{a, b} {
			if err := setKey(s, "x", "1"); err != nil {
				t.Fatal(err)
			}
		}
		n := execCount(t, b, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
		if n == 0 {
			t.Fatalf("round %d: no session terminated", round)
		}
		recovers(t, "Update after terminate", func() error { return setKey(a, "x", "2") })
		recovers(t, "View after terminate", func() error { _, err := readKey(b, "x"); return err })
	}
}
