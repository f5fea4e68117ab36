package podtest_test

import (
	"net/http"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// A started server serves the demo pods on loopback; stop shuts it down,
// and calling it twice (then the cleanup) is harmless.
func TestRunStoppable(t *testing.T) {
	s, stop := podtest.RunStoppable(t, pod.Options{InMemory: true})
	res, err := http.Get(s.WebID("alice"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET alice's profile: %d, want 200", res.StatusCode)
	}
	stop()
	stop()
	if res, err := http.Get(s.WebID("alice")); err == nil {
		res.Body.Close()
		t.Fatalf("GET after stop: %d, want a refused connection", res.StatusCode)
	}
}
