package pod

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/deliver"
	"podserver/httpsig"
	"podserver/idp"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/notify"
	"podserver/store"
)

// notifier serves Solid Notifications (package notify) for the server.
type notifier struct {
	s *Server
	n *notify.Notifier

	mu     sync.Mutex
	hooked bool // CloseStreams is registered with the http.Server
}

func newNotifier(s *Server, queue *deliver.Queue) (*notifier, error) {
	n, err := notify.New(notify.Config{Store: s.st, Host: notifyHost{s}, URLs: s.urls, Queue: queue, Logger: s.log, Client: s.outboundClient()})
	if err != nil {
		return nil, err
	}
	return &notifier{s: s, n: n}, nil
}

// route serves pod-level notification requests (the storage description,
// subscriptions, channels); it reports false for everything else.
func (n *notifier) route(c *gin.Context, r *ldp.Request) (bool, error) {
	n.hookShutdown()
	return n.n.ServePod(c, r)
}

// top serves server-level notification endpoints (the solid-0.1 WebSocket).
func (n *notifier) top(c *gin.Context) (bool, error) { return n.n.ServeTop(c) }

// headers adds notification discovery headers to LDP responses.
func (n *notifier) headers(c *gin.Context, r *ldp.Request, p string) { n.n.Headers(c, r, p) }

// onChange receives every durable resource write (store.PrefixResource keys).
func (n *notifier) onChange(changes []store.Change) { n.n.OnChange(changes) }

// close stops background work and closes notification connections.
func (n *notifier) close() { n.n.Close() }

// hookShutdown makes the http.Server's graceful shutdown end streaming
// notification responses instead of waiting for them.
func (n *notifier) hookShutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.hooked {
		return
	}
	n.s.mu.Lock()
	srv := n.s.srv
	n.s.mu.Unlock()
	if srv != nil {
		srv.RegisterOnShutdown(n.n.CloseStreams)
		n.hooked = true
	}
}

// notifyHost gives the notifier what it needs of the server.
type notifyHost struct{ s *Server }

func (h notifyHost) Authorize(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error {
	return h.s.ldp.Authorize(ctx, r, p, need)
}

// Authenticate resolves an API key as a request's x-api-key header is
// resolved (Server.authenticate), for the solid-0.1 "auth" message.
func (h notifyHost) Authenticate(ctx context.Context, credential string) (ldp.Principal, error) {
	if sy, ok := h.s.st.(store.Syncer); ok {
		// A key made or revoked on another node counts here too.
		if err := sy.Sync(ctx); err != nil {
			return ldp.Principal{}, err
		}
	}
	k, err := h.s.keys.Authenticate(ctx, credential)
	if err != nil {
		return ldp.Principal{}, err
	}
	return ldp.Principal{Agent: h.s.WebID(k.Pod), Pod: k.Pod, App: k.App, Owner: k.Owner, KeyID: k.ID}, nil
}

// CredentialActive reports whether the credential of pr, the creator of a
// notification channel, still works: its API key exists, or the grant of
// its Solid-OIDC token of this server still stands (idp.CheckGrant).
func (h notifyHost) CredentialActive(ctx context.Context, pr ldp.Principal) (bool, error) {
	switch {
	case pr.KeyID != "":
		return h.s.keys.Exists(ctx, pr.Pod, pr.KeyID)
	case pr.Grant != "":
		if h.s.idp == nil {
			return false, nil
		}
		g, err := idp.ParseGrant(pr.Grant)
		if err != nil {
			return false, nil
		}
		err = h.s.idp.CheckGrant(ctx, g)
		var rv *idp.ErrRevoked
		if errors.As(err, &rv) {
			return false, nil
		}
		return err == nil, err
	}
	return true, nil
}

// ContainerETag returns the ETag of container p's default (JSON-LD)
// representation, as a GET answers it: none for an inbox, whose JSON-LD
// listing the inbox handler serves without one.
func (h notifyHost) ContainerETag(ctx context.Context, p string) (string, bool, error) {
	pod, rel := ldp.SplitStoragePath(p)
	if rel == "inbox/" {
		return "", false, nil
	}
	return h.s.ldp.ListingETag(ctx, ldp.Target{Pod: pod, Path: p, Root: h.s.PodRoot(pod)}, p)
}

// SignRequest signs a push channel's POST with the sending pod's key.
func (h notifyHost) SignRequest(ctx context.Context, pod string, req *http.Request, body []byte) error {
	key, keyID, err := h.s.SigningKey(ctx, pod)
	if err != nil {
		return err
	}
	return (&httpsig.Signer{KeyID: keyID, Key: key}).Sign(req, body)
}

var errNoInboxes = errors.New("inboxes are not set up")

// AppendInbox stores an LDN channel's notification in a local inbox, as the
// inbox would store one posted to it.
func (h notifyHost) AppendInbox(ctx context.Context, path, id string, body []byte, committed func(item string)) error {
	ev := h.s.ev
	if ev == nil || ev.inboxes == nil {
		return errNoInboxes
	}
	now := h.s.repo.Now()
	return h.s.st.Update(ctx, func(tx store.Txn) error {
		item, added, err := ev.inboxes.Append(tx, inbox.Copy{Inbox: path, EventID: id, Body: body}, now)
		if err != nil {
			return err
		}
		if added {
			tx.OnCommit(func() { committed(item) })
		}
		return nil
	})
}
