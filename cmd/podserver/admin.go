package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"podserver/adminapi"
	"podserver/pod"
)

// serverFlags are the flags of the commands that can work through a
// running server instead of the data directory.
type serverFlags struct {
	server, key string
}

func (f *serverFlags) register(fs *flag.FlagSet, keyHelp string) {
	fs.StringVar(&f.server, "server", "", "a running server's base URL: work through its HTTP API instead of the data directory")
	fs.StringVar(&f.key, "operator-key", "", keyHelp)
}

// podSubHelp is the usage of each pod subcommand.
var podSubHelp = map[string]struct{ usage, args string }{
	"create":  {"Usage: podserver pod create [flags] NAME\n\nCreate pod NAME and print its owner key, which is shown only this once.\nNAME is 1-63 characters of a-z, 0-9 and '-'.", "NAME"},
	"list":    {"Usage: podserver pod list [flags]\n\nList the pods, one a line: name, root URL, creation time and state\n(active, disabled or deleting), separated by tabs.", ""},
	"disable": {"Usage: podserver pod disable [flags] NAME\n\nRefuse every request to pod NAME (403), keeping its data.", "NAME"},
	"enable":  {"Usage: podserver pod enable [flags] NAME\n\nServe the disabled pod NAME again.", "NAME"},
	"delete":  {"Usage: podserver pod delete [flags] NAME\n\nDelete pod NAME and all its data, keys included. It answers 404 at once;\nthe name is free once its data is gone.", "NAME"},
}

// cmdPodSub runs one pod subcommand, on the data directory or, with
// --server, through the operator API.
func cmdPodSub(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	h := podSubHelp[sub]
	fs := newFlagSet("pod "+sub, h.usage, stderr)
	var c common
	c.register(fs)
	var sf serverFlags
	sf.register(fs, "with --server: the server's operator key (or PODSERVER_OPERATOR_KEY)")
	var names []string
	if h.args != "" {
		names = []string{h.args}
	}
	if err := parseArgs(fs, args, names...); err != nil {
		return err
	}
	name := fs.Arg(0)
	if sf.server != "" {
		if sf.key == "" {
			return usageError{"pod " + sub + ": --server needs the operator key: --operator-key or PODSERVER_OPERATOR_KEY"}
		}
		return podRemote(ctx, &adminapi.Client{BaseURL: sf.server, Key: sf.key}, sub, name, stdout)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	err = podLocal(ctx, s, sub, name, stdout)
	if cerr := shutdown(s); err == nil {
		err = cerr
	}
	return err
}

// podLocal runs a pod subcommand on an opened server.
func podLocal(ctx context.Context, s *pod.Server, sub, name string, stdout io.Writer) error {
	switch sub {
	case "create":
		key, err := s.CreatePod(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
	case "list":
		pods, err := s.ListPods(ctx)
		if err != nil {
			return err
		}
		for _, p := range pods {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", p.Name, s.PodRoot(p.Name), p.Created.Format(time.RFC3339), podState(p.State))
		}
	case "disable", "enable":
		_, err := s.DisablePod(ctx, name, sub == "disable")
		return err
	case "delete":
		return s.DeletePod(ctx, name)
	}
	return nil
}

// podState names a pod record's state ("" is active).
func podState(st string) string {
	if st == "" {
		return adminapi.StateActive
	}
	return st
}

// podRemote runs a pod subcommand through the operator API.
func podRemote(ctx context.Context, c *adminapi.Client, sub, name string, stdout io.Writer) error {
	switch sub {
	case "create":
		p, err := c.CreatePod(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, p.OwnerKey)
	case "list":
		pods, err := c.ListPods(ctx)
		if err != nil {
			return err
		}
		for _, p := range pods {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", p.Name, p.Root, p.Created.Format(time.RFC3339), p.State)
		}
	case "disable", "enable":
		_, err := c.DisablePod(ctx, name, sub == "disable")
		return err
	case "delete":
		p, err := c.DeletePod(ctx, name)
		if err != nil {
			return err
		}
		if p.State != adminapi.StateDeleted {
			fmt.Fprintf(stdout, "%s: %s (the server goes on deleting its data)\n", name, p.State)
		}
	}
	return nil
}

// keyRemote runs a key subcommand through pod's key API on a running
// server (settings/keys/, with an owner key of the pod): root is the pod's
// root URL.
func keyRemote(ctx context.Context, root, ownerKey, sub, app string, owner bool, id string, stdout io.Writer) error {
	call := func(method, path string, body any, out any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, err := http.NewRequestWithContext(ctx, method, root+"settings/keys/"+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("x-api-key", ownerKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if res.StatusCode >= 300 {
			var e struct{ Error string }
			if json.Unmarshal(b, &e) == nil && e.Error != "" {
				return fmt.Errorf("%s: %s", res.Status, e.Error)
			}
			return errors.New(res.Status)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	switch sub {
	case "create":
		var k struct{ Key string }
		if err := call(http.MethodPost, "", map[string]any{"app": app, "owner": owner}, &k); err != nil {
			return err
		}
		fmt.Fprintln(stdout, k.Key)
	case "list":
		var l struct {
			Keys []struct {
				ID, App  string
				Owner    bool
				Created  time.Time
				LastUsed *time.Time
			}
		}
		if err := call(http.MethodGet, "", nil, &l); err != nil {
			return err
		}
		for _, k := range l.Keys {
			var lu time.Time
			if k.LastUsed != nil {
				lu = *k.LastUsed
			}
			fmt.Fprintln(stdout, keyLine(k.ID, k.App, k.Owner, k.Created, lu))
		}
	case "revoke":
		return call(http.MethodDelete, id, nil, nil)
	}
	return nil
}

// keyLine is one line of key list: id, app, kind, creation and last-use
// times ("-" for never), separated by tabs.
func keyLine(id, app string, owner bool, created, lastUsed time.Time) string {
	kind := "app"
	if owner {
		kind = "owner"
	}
	lu := "-"
	if !lastUsed.IsZero() {
		lu = lastUsed.Format(time.RFC3339)
	}
	return strings.Join([]string{id, app, kind, created.Format(time.RFC3339), lu}, "\t")
}
