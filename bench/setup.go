// Package bench is podserver's load tool: it provisions producer, user and
// subscriber pods, has C connections publish events for a while, reads the
// subscribers' inboxes by long-poll, and reports publish throughput and
// latency, end-to-end latency (publish to copy readable) and errors. The
// `podserver bench` command wraps it; tests use it directly.
//
// RunNotifyLoad is the Solid Notifications load test: idle WebSocket
// subscribers on one inbox and the latency of inbox arrivals to each
// (`podserver bench notify`, cmd/notifybench).
//
// It talks to the server over HTTP only, so it measures a server in this
// process or another one alike. Pods are created through a Provisioner,
// which the caller implements over a pod.Server (this package does not
// import pod), or described by a Setup file for a server elsewhere.
//
// This package must not import pod or cmd.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Pod is a pod the bench uses: its root URL and a key. Producers carry an
// app key (their events' instrument); users and subscribers an owner key
// (to write settings and read inboxes).
type Pod struct {
	Name string `json:"name"`
	Root string `json:"root"`
	Key  string `json:"key"`
}

// WebID returns the pod owner's WebID.
func (p Pod) WebID() string { return p.Root + "profile/card#me" }

// Setup lists the pods of a bench run. It is what --setup reads for a
// server started elsewhere (see Prepare).
type Setup struct {
	Producers   []Pod `json:"producers"`
	Users       []Pod `json:"users"`
	Subscribers []Pod `json:"subscribers"`
}

// Provisioner creates pods and keys on a server.
type Provisioner interface {
	// CreatePod creates pod name and returns its owner key.
	CreatePod(ctx context.Context, name string) (ownerKey string, err error)
	// CreateAppKey creates an app key of pod.
	CreateAppKey(ctx context.Context, pod, app string) (string, error)
	// PodRoot returns the root URL of pod name, ending in "/".
	PodRoot(name string) string
}

// Sizes says how many pods of each kind to provision.
type Sizes struct {
	Producers, Users, Subscribers int
}

// Provision creates the bench pods (bench-p{i}, bench-u{i}, bench-s{i})
// and their keys through p.
func Provision(ctx context.Context, p Provisioner, n Sizes) (Setup, error) {
	var s Setup
	mk := func(prefix string, count int, app bool) ([]Pod, error) {
		var out []Pod
		for i := range count {
			name := prefix + strconv.Itoa(i)
			key, err := p.CreatePod(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("create pod %s: %w", name, err)
			}
			if app {
				if key, err = p.CreateAppKey(ctx, name, "bench"); err != nil {
					return nil, fmt.Errorf("create app key of %s: %w", name, err)
				}
			}
			out = append(out, Pod{Name: name, Root: p.PodRoot(name), Key: key})
		}
		return out, nil
	}
	var err error
	if s.Producers, err = mk("bench-p", n.Producers, true); err != nil {
		return s, err
	}
	if s.Users, err = mk("bench-u", n.Users, false); err != nil {
		return s, err
	}
	if s.Subscribers, err = mk("bench-s", n.Subscribers, false); err != nil {
		return s, err
	}
	return s, nil
}

// ProvisionRemote creates the producers through a (server A) and the users
// and subscribers through b (server B), for a run with Config.Remote: every
// copy then crosses from A to B.
func ProvisionRemote(ctx context.Context, a, b Provisioner, n Sizes) (Setup, error) {
	onA, err := Provision(ctx, a, Sizes{Producers: n.Producers})
	if err != nil {
		return Setup{}, fmt.Errorf("server A: %w", err)
	}
	s, err := Provision(ctx, b, Sizes{Users: n.Users, Subscribers: n.Subscribers})
	if err != nil {
		return Setup{}, fmt.Errorf("server B: %w", err)
	}
	s.Producers = onA.Producers
	return s, nil
}

// CheckRemote checks that s suits a run with Config.Remote between the
// servers at base URLs a and b: the producers' pods are under a, the
// users' and subscribers' under b, and a and b differ.
func (s Setup) CheckRemote(a, b string) error {
	a, b = strings.TrimSuffix(a, "/")+"/", strings.TrimSuffix(b, "/")+"/"
	if a == b {
		return fmt.Errorf("setup: servers A and B are both %s", a)
	}
	check := func(kind, base string, pods []Pod) error {
		for _, p := range pods {
			if !strings.HasPrefix(p.Root, base) {
				return fmt.Errorf("setup: %s pod %s is at %s, not on server %s", kind, p.Name, p.Root, base)
			}
		}
		return nil
	}
	if err := check("producer", a, s.Producers); err != nil {
		return err
	}
	if err := check("user", b, s.Users); err != nil {
		return err
	}
	return check("subscriber", b, s.Subscribers)
}

// ReadSetup reads a setup file.
func ReadSetup(path string) (Setup, error) {
	var s Setup
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("setup %s: %w", path, err)
	}
	if len(s.Producers) == 0 || len(s.Users) == 0 || len(s.Subscribers) == 0 {
		return s, fmt.Errorf("setup %s: needs producers, users and subscribers", path)
	}
	return s, nil
}

// WriteSetup writes a setup file (it holds keys: mode 0600).
func WriteSetup(path string, s Setup) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// Topic is the topic the bench publishes.
const Topic = "bench/event#add"

// SubscribersOf returns the indexes of the subscribers of user u: fanout
// consecutive subscribers starting at u, wrapping around.
func SubscribersOf(u, fanout, subscribers int) []int {
	out := make([]int, 0, fanout)
	for j := range min(fanout, subscribers) {
		out = append(out, (u+j)%subscribers)
	}
	return out
}

// Configure writes every user's settings/subscriptions over HTTP: each
// producer may publish bench/*, and fanout subscribers subscribe to it, so
// each event reaches the user's inbox and fanout subscriber inboxes.
func Configure(ctx context.Context, c *http.Client, s Setup, fanout int) error {
	type item struct {
		Type       string   `json:"type"`
		Agent      string   `json:"agent"`
		Publishes  []string `json:"publishes,omitempty"`
		Subscribes []string `json:"subscribes,omitempty"`
	}
	for u, user := range s.Users {
		var items []item
		for _, p := range s.Producers {
			items = append(items, item{Type: "Subscription", Agent: p.WebID(), Publishes: []string{"bench/*"}})
		}
		for _, si := range SubscribersOf(u, fanout, len(s.Subscribers)) {
			items = append(items, item{Type: "Subscription", Agent: s.Subscribers[si].WebID(), Subscribes: []string{"bench/*"}})
		}
		doc, err := json.Marshal(map[string]any{"version": "1", "items": items})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, user.Root+"settings/subscriptions", bytes.NewReader(doc))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", user.Key)
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("configure %s: %w", user.Name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("configure %s: %s: %s", user.Name, resp.Status, body)
		}
	}
	return nil
}
