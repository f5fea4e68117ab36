package pod_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"podserver/pod"
)

// The pod URL scheme is fixed by New. With port 0 and no base URL, New
// binds the port its base URL names (so every part is built with the real
// URL before Start); a server never started frees it on Shutdown. With a
// fixed port New binds nothing, which is what the admin commands rely on
// while a server holds that port.
func TestNewURLScheme(t *testing.T) {
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	base := s.BaseURL()
	port := base[strings.LastIndex(base, ":")+1:]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || port == "0" {
		t.Fatalf("BaseURL %q, want http://127.0.0.1:<bound port>", base)
	}
	if got := s.URLs().WebID("alice"); got != base+"/alice/profile/card#me" {
		t.Errorf("WebID %q", got)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
		ln.Close()
		t.Fatalf("port %s of the base URL is not held by New", port)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("port %s not freed by Shutdown: %v", port, err)
	}
	defer ln.Close()

	// The port is taken (by ln): New with it and with a base URL binds
	// nothing and so does not fail; Start does.
	for _, o := range []pod.Options{
		{Addr: ln.Addr().String(), InMemory: true},
		{Addr: "127.0.0.1:0", BaseURL: "https://pods.example/", PodNaming: pod.NamingSubdomain, InMemory: true},
	} {
		s, err := pod.New(o)
		if err != nil {
			t.Fatalf("New(%+v): %v", o, err)
		}
		if o.BaseURL != "" && (s.BaseURL() != "https://pods.example" || s.PodRoot("bob") != "https://bob.pods.example/") {
			t.Errorf("BaseURL %q PodRoot %q", s.BaseURL(), s.PodRoot("bob"))
		}
		if o.BaseURL == "" {
			if err := s.Start(); err == nil || !strings.Contains(err.Error(), "listen on") {
				t.Errorf("Start on a taken port: %v", err)
			}
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []pod.Options{
		{Addr: "127.0.0.1", InMemory: true},
		{BaseURL: "http://x/path", InMemory: true},
		{PodNaming: "dns", InMemory: true},
	} {
		if _, err := pod.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
