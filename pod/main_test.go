package pod_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/pod"
	"podserver/store/pgstore/pgtest"
)

// pgCluster is the PostgreSQL cluster of the tests that run a server on
// PostgreSQL, started by the first of them.
var pgCluster = pgtest.New()

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	pgCluster.Stop()
	os.Exit(code)
}

// startServer starts a real server with the demo pods over an on-disk store
// (a new temporary directory unless opts names one or asks for memory), on
// a loopback port unless opts names an address. It is shut down when the
// test ends, or earlier by the returned stop function; every test file's
// server helper is built on it.
func startServer(t testing.TB, opts pod.Options) (*pod.Server, func()) {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DataDir == "" && !opts.InMemory {
		opts.DataDir = t.TempDir()
	}
	s, err := pod.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, stop
}
