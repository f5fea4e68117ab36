package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/deliver"
	"podserver/httpsig"
	"podserver/ldp"
	"podserver/netguard"
	"podserver/podurl"
	"podserver/publish"
	"podserver/rdf"
	"podserver/replay"
	"podserver/store"
	"podserver/webid"
)

// Config configures a Remote.
type Config struct {
	// Store holds the events to send and the nonces of accepted
	// signatures.
	Store store.Store
	// Client makes the outbound requests: deliveries and WebID profile
	// fetches. Its dialer decides which addresses may be reached.
	Client *http.Client
	// Logger receives refused signed deliveries at debug level.
	Logger *slog.Logger
	// SigningKey returns a pod's Ed25519 signing key and its key id (the
	// URL of the key in the pod's profile).
	SigningKey func(ctx context.Context, pod string) (ed25519.PrivateKey, string, error)
	// URLs is the server's pod URL scheme; its URL scheme ("http" or
	// "https") is the one of the URL a signature covers.
	URLs podurl.Scheme
	// Authorize decides whether the request's principal may access the
	// resource at path with mode (ldp.Handler.Authorize).
	Authorize func(ctx context.Context, r *ldp.Request, path string, mode acl.Mode) error
	// Publish checks and stores a received copy (publish.Service.ReceiveRemote).
	Publish *publish.Service
	// MaxBodyBytes bounds a received body.
	MaxBodyBytes int64
	// SignerKeyWait bounds how long an unauthenticated sender waits for its
	// key's profile to be fetched.
	SignerKeyWait time.Duration
}

// Remote carries deliveries to and from other servers (DESIGN sections 2
// and 3): the delivery queue's handler for deliver.KindLDN, which POSTs a
// signed copy to the inbox named in a WebID profile, and the receiving
// side of such POSTs.
type Remote struct {
	cfg Config
	// keys resolves the key ids of received signatures; profiles the
	// recipients of deliveries.
	keys     *webid.Resolver
	profiles *webid.Resolver
	verifier *httpsig.Verifier
}

// New returns a Remote for cfg.
func New(cfg Config) *Remote {
	// The key ids of signatures not yet verified are named by whoever
	// sends a request; deliveries resolve their recipients' profiles
	// through a Fetcher and cache of their own, so such requests can
	// neither take the slots deliveries wait for nor make the Fetcher
	// refuse a recipient's host. A failed profile fetch (whatever failed)
	// is remembered for webid.DefaultErrorTTL, so a flood naming one
	// hostile document costs one fetch.
	keys := webid.NewResolver(webid.Options{Fetcher: netguard.NewFetcher(cfg.Client, netguard.FetchLimits{})})
	profiles := webid.NewResolver(webid.Options{Fetcher: netguard.NewFetcher(cfg.Client, netguard.FetchLimits{})})
	d := &Remote{cfg: cfg, keys: keys, profiles: profiles}
	d.verifier = &httpsig.Verifier{
		Resolve: keys.ResolveKey,
		Refresh: keys.RefreshKey,
		// Accepted nonces are kept in the store, so a replay is refused
		// after a restart too.
		Nonces: replay.New(cfg.Store),
		// The scheme the server is reached with (its base URL, so a
		// TLS-terminating proxy in front does not break signatures), the
		// host the client addressed.
		TargetURI: func(r *http.Request) string {
			return cfg.URLs.URLScheme() + "://" + r.Host + r.URL.RequestURI()
		},
	}
	return d
}

// DeliverLDN is the delivery queue's handler for deliver.KindLDN: it finds
// the inbox of the WebID r.Target and POSTs the stored event (r.Event) to
// it as application/ld+json with podserver's context inline
// (rdf.PortableInline), signed with the sending pod's key. A profile
// that does not parse or names no inbox, and an inbox URL that is not
// http(s), are permanent failures; a profile that cannot be fetched, a
// refused connection and a timeout are retried.
func (d *Remote) DeliverLDN(ctx context.Context, r deliver.Record) (deliver.Response, error) {
	var body []byte
	err := d.cfg.Store.View(ctx, func(rd store.Reader) error {
		res, err := ldp.Get(rd, r.Event)
		if err != nil {
			return err
		}
		// The receiver, podserver or not, reads podserver's context
		// without fetching it: it goes inline.
		body = rdf.PortableInline(res.Body)
		return nil
	})
	if errors.Is(err, ldp.ErrNotFound) {
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("the event %s was deleted before delivery", r.EventID))
	}
	if err != nil {
		return deliver.Response{}, err
	}
	prof, err := d.profiles.Profile(ctx, r.Target)
	switch {
	case errors.Is(err, webid.ErrBadWebID), errors.Is(err, webid.ErrMalformedProfile), errors.Is(err, webid.ErrNoInbox):
		return deliver.Response{}, deliver.Permanent(err)
	case err != nil:
		return deliver.Response{}, err
	case prof.Inbox == "":
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("%w: %s", webid.ErrNoInbox, r.Target))
	}
	if err := netguard.CheckURL(prof.Inbox); err != nil {
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("the inbox of %s: %w", r.Target, err))
	}
	key, keyID, err := d.cfg.SigningKey(ctx, r.Pod)
	if err != nil {
		return deliver.Response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, prof.Inbox, bytes.NewReader(body))
	if err != nil {
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("inbox %q of %s: %w", prof.Inbox, r.Target, err))
	}
	req.Header.Set("Content-Type", ldp.MediaJSONLD)
	signer := httpsig.Signer{KeyID: keyID, Key: key}
	if err := signer.Sign(req, body); err != nil {
		return deliver.Response{}, deliver.Permanent(err)
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return deliver.Response{}, fmt.Errorf("POST %s: %w", prof.Inbox, err)
	}
	return deliver.ReadResponse(resp, prof.Inbox, time.Now())
}

// signatureRefused is the 401 for a signature refused by its own content
// (syntax, algorithm, times, coverage, digest, replay, a wrong signature):
// the message says what to fix and holds nothing but what the request
// itself carried.
func signatureRefused(err error) *apierr.Error {
	return apierr.Wrap(http.StatusUnauthorized, msgSignatureRefused+err.Error(), err)
}

// Receive serves a POST to a pod's inbox/ signed with RFC 9421 HTTP
// Message Signatures by a pod on another server: the sender is the WebID
// controlling the key. 201 + Location for a new item, 200 + Location when
// the inbox already held the event.
func (d *Remote) Receive(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	// The body is read whole to verify the signature over its digest, but
	// nothing of it is looked at until the sender may Append.
	body, err := ldp.ReadBody(c, d.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	// Verifying may fetch the signer's profile: the caller, not yet
	// authenticated, waits for it at most SignerKeyWait (the fetch itself
	// goes on and is cached for the sender's retry).
	vctx, cancel := context.WithTimeout(ctx, d.cfg.SignerKeyWait)
	keyID, err := d.verifier.Verify(vctx, c.Request, body)
	cancel()
	if err != nil {
		d.cfg.Logger.Debug("inbox: signed delivery refused", "key", keyID, "err", err)
	}
	switch {
	case err == nil:
	case errors.Is(err, webid.ErrFetch):
		// The signer's profile could not be fetched: a 503, so the sending
		// server retries rather than giving up.
		return apierr.Wrap(errSignerUnreachable.Status, errSignerUnreachable.Msg, err).With("Retry-After", "30")
	case errors.Is(err, httpsig.ErrUnknownKey):
		return apierr.Wrap(errSignerKey.Status, errSignerKey.Msg, err)
	case isSignatureError(err):
		return signatureRefused(err)
	default:
		return err // the nonce store failed: a 5xx, logged
	}
	k, err := d.keys.Key(ctx, keyID)
	if err != nil || k.Controller == "" {
		return apierr.Wrap(errSignedKey.Status, errSignedKey.Msg, err)
	}
	c.Set("agent", k.Controller)
	// The verified sender is an authenticated agent: the inbox's ACL
	// decides whether it may Append (by default, authenticated agents may).
	sr := *r
	sr.Principal = ldp.Principal{Agent: k.Controller}
	if err := d.cfg.Authorize(ctx, &sr, r.Target.Path, acl.Append); err != nil {
		return err
	}
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := ldp.ParseContentType(ct)
		if err != nil || (mt != ldp.MediaJSONLD && mt != ldp.MediaJSON) {
			return errSignedMedia
		}
	}
	res, err := d.cfg.Publish.ReceiveRemote(ctx, r.Target.Pod, k.Controller, body)
	if err != nil {
		return err
	}
	c.Header("Location", r.Target.URL(res.Item))
	if res.Added {
		c.Status(http.StatusCreated)
	} else {
		c.Status(http.StatusOK)
	}
	return nil
}

// isSignatureError reports whether err is httpsig's verdict on the
// request itself.
func isSignatureError(err error) bool {
	for _, e := range []error{httpsig.ErrNoSignature, httpsig.ErrBadSignature, httpsig.ErrExpired, httpsig.ErrReplay, httpsig.ErrDigestMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
