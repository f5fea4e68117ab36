// Package podtest starts real pod servers for tests of any package, in the
// manner of NATS server's RunServer: one call, a server with the demo pods
// listening on loopback, shut down when the test ends.
//
// It imports pod, so nothing pod imports (publish, inbox, deliver, ldp,
// acl, rdf, store and below) may use it, even in tests; the locked log
// buffer those packages need lives in podtest/lockedbuf, which imports
// only the standard library.
package podtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"podserver/pod"
)

// shutdownTimeout bounds how long a test server's shutdown may wait for
// in-flight requests.
const shutdownTimeout = 10 * time.Second

// RunServer starts a server with the demo pods and returns it once it
// listens and the pods are provisioned. Unless opts says otherwise it
// listens on 127.0.0.1:0 and stores its data in a new temporary directory
// (opts.DataDir, opts.InMemory or opts.StoreURL keep their meaning). It is
// shut down when the test ends; a failed start or shutdown fails t.
func RunServer(t testing.TB, opts pod.Options) *pod.Server {
	t.Helper()
	s, _ := RunStoppable(t, opts)
	return s
}

// RunStoppable is RunServer for tests that stop the server before they end
// (to restart it over the same data, or to make it unreachable): it also
// returns a function that shuts the server down. Calling it more than once
// is harmless, and the shutdown at the end of the test then does nothing.
func RunStoppable(t testing.TB, opts pod.Options) (*pod.Server, func()) {
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
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, stop
}
