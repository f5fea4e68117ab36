// Package adminapi is the wire format of podserver's operator API (the
// /admin/ routes, served by package pod) and a Go client for it, with which
// the command line manages the pods of a running server (--server URL).
//
// # Routes
//
// Every route but /admin/register needs the server's operator key, as
// "Authorization: Bearer KEY" or "X-Api-Key: KEY"; without it, or with a
// wrong one, every route answers 401, whether or not what it names exists.
// Errors are JSON {"error": "..."}.
//
//	GET    /admin/pods               200 {"pods": [Pod...]}, in name order
//	POST   /admin/pods {"name": N}   201 Pod with ownerKey (Location: /admin/pods/N);
//	                                 400 invalid or reserved name, 409 taken
//	GET    /admin/pods/N             200 Pod; 404
//	POST   /admin/pods/N/disable     200 Pod (state "disabled"); 404; 409 being deleted
//	POST   /admin/pods/N/enable      200 Pod (state "active"); 404; 409 being deleted
//	DELETE /admin/pods/N             200 {"name": N, "state": "deleted"} once its data is
//	                                 gone, or 202 Pod (state "deleting") when that takes
//	                                 longer than the request may wait; 404
//	GET    /admin/register           200 {"open": bool}, no key needed
//	POST   /admin/register {"name": N}
//	                                 no key needed: 201 Pod with ownerKey when the server
//	                                 runs with open registration, 403 otherwise; 400, 409
//	                                 as for POST /admin/pods; 429 with Retry-After when
//	                                 the client's address or the server made too many
//
// A disabled pod answers every request with 403; a pod being deleted, or
// deleted, with 404, as a pod that never existed.
//
// This package imports only the standard library.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Pod states (Pod.State).
const (
	StateActive   = "active"
	StateDisabled = "disabled"
	StateDeleting = "deleting"
	// StateDeleted is the state in the answer to a DELETE that removed
	// all the pod's data.
	StateDeleted = "deleted"
)

// Pod is a pod as the operator API shows it.
type Pod struct {
	Name string `json:"name"`
	// Root is the pod's root URL and WebID its owner's WebID.
	Root  string `json:"root,omitempty"`
	WebID string `json:"webId,omitempty"`
	// Created is when the pod was created.
	Created time.Time `json:"created,omitzero"`
	// State is StateActive, StateDisabled or StateDeleting (StateDeleted
	// in the answer to a DELETE that finished).
	State string `json:"state"`
	// OwnerKey is the new pod's owner key, only in the answer to the
	// request that created it: it is shown once, and stored hashed.
	OwnerKey string `json:"ownerKey,omitempty"`
}

// PodList is the answer to GET /admin/pods.
type PodList struct {
	Pods []Pod `json:"pods"`
}

// CreateRequest is the body of POST /admin/pods and POST /admin/register.
type CreateRequest struct {
	Name string `json:"name"`
}

// Registration is the answer to GET /admin/register.
type Registration struct {
	Open bool `json:"open"`
}

// Error is an error answer of the API.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Msg is the server's message ({"error": ...}).
	Msg string
	// RetryAfter is the wait a 429 asks for (zero when none).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

// ErrNotFound matches (errors.Is) an Error with status 404.
var ErrNotFound = errors.New("adminapi: not found")

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Client calls the operator API of one server.
type Client struct {
	// BaseURL is the server's base URL, e.g. "http://localhost:8080".
	BaseURL string
	// Key is the operator key (not needed for Register).
	Key string
	// HTTP is the client to use (default http.DefaultClient).
	HTTP *http.Client
}

// ListPods returns every pod of the server.
func (c *Client) ListPods(ctx context.Context) ([]Pod, error) {
	var l PodList
	_, err := c.do(ctx, http.MethodGet, "pods", nil, &l)
	return l.Pods, err
}

// GetPod returns pod name.
func (c *Client) GetPod(ctx context.Context, name string) (Pod, error) {
	var p Pod
	_, err := c.do(ctx, http.MethodGet, "pods/"+url.PathEscape(name), nil, &p)
	return p, err
}

// CreatePod creates pod name; the answer holds its owner key.
func (c *Client) CreatePod(ctx context.Context, name string) (Pod, error) {
	var p Pod
	_, err := c.do(ctx, http.MethodPost, "pods", CreateRequest{Name: name}, &p)
	return p, err
}

// DisablePod disables pod name (disabled true) or enables it again.
func (c *Client) DisablePod(ctx context.Context, name string, disabled bool) (Pod, error) {
	op := "/enable"
	if disabled {
		op = "/disable"
	}
	var p Pod
	_, err := c.do(ctx, http.MethodPost, "pods/"+url.PathEscape(name)+op, nil, &p)
	return p, err
}

// DeletePod deletes pod name. It returns once the server removed all its
// data (State StateDeleted), polling while the server answers that the
// removal goes on, until ctx ends.
func (c *Client) DeletePod(ctx context.Context, name string) (Pod, error) {
	var p Pod
	status, err := c.do(ctx, http.MethodDelete, "pods/"+url.PathEscape(name), nil, &p)
	for err == nil && status == http.StatusAccepted {
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(time.Second):
		}
		p, err = c.GetPod(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return Pod{Name: name, State: StateDeleted}, nil
		}
	}
	return p, err
}

// Register creates pod name through open registration (no operator key).
func (c *Client) Register(ctx context.Context, name string) (Pod, error) {
	var p Pod
	_, err := c.do(ctx, http.MethodPost, "register", CreateRequest{Name: name}, &p)
	return p, err
}

// do sends one request to /admin/+path and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+"/admin/"+path, body)
	if err != nil {
		return 0, fmt.Errorf("adminapi: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("adminapi: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("adminapi: read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		var m struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &m) == nil && m.Error != "" {
			e.Msg = m.Error
		} else {
			e.Msg = http.StatusText(resp.StatusCode)
		}
		if s, err := time.ParseDuration(resp.Header.Get("Retry-After") + "s"); err == nil {
			e.RetryAfter = s
		}
		return resp.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("adminapi: the answer to %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
