package ldp

import (
	"context"
	"strings"
	"time"

	"podserver/acl"
	"podserver/podurl"
)

// Target is the resource a request addresses.
type Target struct {
	// Pod is the pod name.
	Pod string
	// Path is the storage path, "/{pod}/{rel}".
	Path string
	// Root is the absolute URL of the pod root, ending in "/".
	Root string
}

// URL returns the absolute URL of storage path p, which must be in the
// target's pod: its segments percent-encoded (podurl.EscapePath), so that
// the URL names p again when a client sends it back. Every URL the server
// hands out for a stored resource (Location, Link, listings,
// notifications, the ACL evaluator's resource URL) is made here or by
// podurl.Scheme.URL, which agree.
func (t Target) URL(p string) string {
	return t.Root + podurl.EscapePath(strings.TrimPrefix(p, "/"+t.Pod+"/"))
}

// WebID returns the WebID of the pod's owner.
func (t Target) WebID() string { return t.Root + "profile/card#me" }

// Principal is the authenticated agent of a request.
type Principal struct {
	// Agent is the agent's WebID, "" when the request is anonymous.
	Agent string
	// Pod is the pod the credentials belong to.
	Pod string
	// App is the app the key names (the instrument).
	App string
	// Owner is true for an owner key, which has full control of its pod.
	Owner bool
	// KeyID is the public id of the key used.
	KeyID string
	// ClientID is the client (the app acting for Agent) the credential
	// names: a Solid-OIDC token's client_id. It is "" for API keys, HTTP
	// signatures and anonymous requests. Like Agent it is a property of the
	// credential, so a request copied without its Principal (the public
	// half of WAC-Allow) has none; acl:client rules match it.
	ClientID string
	// Grant is what a Solid-OIDC token of this server's identity provider
	// stands on (idp.Grant in text form), for what outlives the request (a
	// notification channel) to check later; "" for other credentials.
	Grant string
	// Expires is when the credential stops working by itself where this
	// server cannot check it later: a Solid-OIDC token of another issuer.
	// Zero for API keys and this server's tokens (Grant).
	Expires time.Time
}

// Anonymous reports whether p is unauthenticated.
func (p Principal) Anonymous() bool { return p.Agent == "" }

// Request is what the server resolved about an HTTP request before a
// handler runs.
type Request struct {
	Target    Target
	Principal Principal
	// Origin is the request's Origin header, "" when absent.
	Origin string
}

// Authorizer says which access modes a request's principal has on a
// resource of the target's pod.
type Authorizer interface {
	// Modes returns the modes r.Principal has on storage path p, which is in
	// r.Target's pod. A zero Principal asks for public access.
	Modes(ctx context.Context, r *Request, p string) (acl.Mode, error)
}
