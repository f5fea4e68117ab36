package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/ldp"
	"podserver/publish"
	"podserver/store"
)

// The outbox/ of a pod lists its queued deliveries: pending ones (held
// back, or failed and waiting for a retry), dead letters ("failed"), and
// the last deliver.Config.KeepDelivered (1000) delivered ones of the pod
// ("delivered"; older delivered records are pruned). A delivery belongs
// to the pod whose settings caused it (DESIGN section 2): the publisher's
// outbox holds its deliveries to the recipient and source it addressed;
// the subscriber copies and webhooks a pod's settings/subscriptions route
// (for an event published here, or received from another server) are in
// that pod's outbox. Copies made to this server's inboxes while publishing
// are not queued, so they are not listed. Owner only.
//
//	GET  <pod>/outbox/?status=pending|failed|delivered&target=URL&order=oldest|newest&limit=N&from=SEQ&wait=S
//	GET  <pod>/outbox/?event=URL  the delivery status of one event (status.go)
//	GET  <pod>/outbox/{seq}
//	POST <pod>/outbox/{seq}   retry: a dead letter, or a pending delivery now (202)
//	POST <pod>/outbox/        replay an event to one target (202; replay.go)
//
// The listing filters by status and by target: the target's URL as the
// records show it (a webhook URL, a remote recipient's or subscriber's
// WebID, or a pod inbox URL of this server, which the WebID of a pod of
// this server also names). order=newest lists newest first (from=SEQ then
// starts at SEQ and goes back). Its answer has an ETag; a GET with
// If-None-Match of that tag and wait=S (seconds, at most MaxWait) is a
// long-poll: it answers as soon as the page differs, or 304 Not Modified
// after S seconds. The store's change feed (Observe) wakes it.
//
// A POST to a pending record makes it due now (deliver.Queue.RetryNow):
// its next attempt is made at once instead of when its retry schedule says
// (hours, after a few failures). A record a node is attempting right now
// is left alone (409); one that was delivered is replayed instead (409).
//
// A fan-out job (kind "fanout": the subscriber copies of an event with
// many, written after the publish's answer) is listed only once it failed
// for good, as a dead letter whose target is the event and whose "copies"
// counts the copies it did not write; its retry writes them.

// Outbox statuses in answers: a dead record is "failed".
const (
	outboxPending   = "pending"
	outboxFailed    = "failed"
	outboxDelivered = "delivered"
)

// outboxJSON is one record as the outbox shows it.
type outboxJSON struct {
	ID         string    `json:"id"`
	Seq        uint64    `json:"seq"`
	Kind       string    `json:"kind"`
	EventID    string    `json:"eventId"`
	Target     string    `json:"target"`
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	Created    time.Time `json:"created"`
	Due        time.Time `json:"due,omitzero"`
	Delivered  time.Time `json:"delivered,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	LastStatus int       `json:"lastStatus,omitempty"`
	// Copies is, for a failed fan-out job, the subscriber copies it did
	// not write (its target is the event).
	Copies int `json:"copies,omitempty"`
}

func (h *Handler) outboxView(r *ldp.Request, rec deliver.Record) outboxJSON {
	v := outboxJSON{
		ID: h.urls.PodRoot(r.Target.Pod) + "outbox/" + strconv.FormatUint(rec.Seq, 10), Seq: rec.Seq, Kind: rec.Kind,
		EventID: rec.EventID, Target: rec.Target, Status: outboxPending, Attempts: rec.Attempts, Created: rec.Created,
		LastError: rec.LastError, LastStatus: rec.LastStatus, Delivered: rec.Delivered,
	}
	switch rec.Kind {
	case deliver.KindInbox:
		pod, _ := ldp.SplitStoragePath(rec.Target)
		v.Target = h.urls.PodRoot(pod) + "inbox/"
	case deliver.KindFanout:
		v.Target, v.Copies = rec.EventID, publish.FanoutCopies(rec)
	}
	switch rec.Status {
	case deliver.StatusDead:
		v.Status = outboxFailed
	case deliver.StatusDelivered:
		v.Status = outboxDelivered
	default:
		v.Due = rec.Due
	}
	return v
}

// Serve serves a request for outbox/ or one of its members; rel is the
// request's pod-relative path ("outbox/..."). Only the pod's owner is
// served: others get 401 (anonymous) or 403.
func (h *Handler) Serve(c *gin.Context, r *ldp.Request, rel string) error {
	pr := r.Principal
	if pr.Anonymous() {
		return apierr.Unauthenticated()
	}
	if !pr.Owner || pr.Pod != r.Target.Pod {
		return errOutboxOwner
	}
	ctx := c.Request.Context()
	pod := r.Target.Pod
	name := strings.TrimPrefix(rel, "outbox/")
	m := c.Request.Method
	if name == "" {
		switch m {
		case http.MethodGet, http.MethodHead:
			return h.outboxList(c, r)
		case http.MethodPost:
			return h.replay(c, r)
		}
		return errOutboxMethod
	}
	seq, err := strconv.ParseUint(name, 10, 64)
	if err != nil {
		return errOutboxItem
	}
	var rec deliver.Record
	switch m {
	case http.MethodGet, http.MethodHead:
		err = h.st.View(ctx, func(rd store.Reader) error {
			rec, err = deliver.Get(rd, pod, seq)
			return err
		})
	case http.MethodPost:
		err = h.st.Update(ctx, func(tx store.Txn) error {
			rec, err = h.queue.Retry(tx, pod, seq)
			if errors.Is(err, deliver.ErrNotDead) && rec.Status == deliver.StatusPending {
				rec, err = h.queue.RetryNow(tx, pod, seq)
			}
			return err
		})
	default:
		return errOutboxMethod
	}
	switch {
	case errors.Is(err, deliver.ErrNoRecord):
		return errOutboxItem
	case errors.Is(err, deliver.ErrAttempting):
		return errOutboxAttempting
	case errors.Is(err, deliver.ErrNotDead), errors.Is(err, deliver.ErrNotPending):
		return errOutboxLive
	case err != nil:
		return err
	}
	status := http.StatusOK
	if m == http.MethodPost {
		status = http.StatusAccepted
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, h.outboxView(r, rec))
	return nil
}

// MaxWait bounds ?wait= of the listing (seconds); it stays below the
// server's write timeout.
const MaxWait = 60

// listQuery is a parsed listing request.
type listQuery struct {
	status string // "" for all
	target string // "" for all; else a record's Target as outboxView shows it
	newest bool
	page   ldp.Page
	wait   time.Duration
}

// parseList reads the listing's query parameters.
func (h *Handler) parseList(q url.Values) (listQuery, error) {
	var lq listQuery
	switch s := q.Get("status"); s {
	case "", outboxPending, outboxFailed, outboxDelivered:
		lq.status = s
	default:
		return lq, errOutboxStatus
	}
	if t := q.Get("target"); t != "" {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return lq, errOutboxTarget
		}
		lq.target = t
		// A pod of this server is named by its inbox URL, or its WebID.
		if p, rel, local := h.urls.PodOfURL(t); local && (rel == "inbox/" || h.urls.WebID(p) == t) {
			lq.target = h.urls.PodRoot(p) + "inbox/"
		}
	}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		lq.newest = true
	default:
		return lq, errOutboxOrder
	}
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxWait {
			return lq, errOutboxWait
		}
		lq.wait = time.Duration(n) * time.Second
	}
	var err error
	lq.page, err = ldp.ParsePage(q, 50)
	return lq, err
}

// outboxList serves GET outbox/: records oldest (or newest) first, paged
// by seq: {"id", "contains": [record URLs], "items": [records], "next":
// seq or ""}, with an ETag; with If-None-Match and wait, a long-poll.
func (h *Handler) outboxList(c *gin.Context, r *ldp.Request) error {
	q := c.Request.URL.Query()
	if q.Has("event") {
		return h.eventStatus(c, r, q.Get("event"))
	}
	lq, err := h.parseList(q)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	pod := r.Target.Pod
	known := c.GetHeader("If-None-Match")
	var body []byte
	var etag string
	var deadline <-chan time.Time
	for {
		// Watch before reading: a change after the read wakes the wait.
		var woken <-chan struct{}
		if lq.wait > 0 && known != "" {
			woken = h.changed.Watch(pod)
		}
		if body, err = h.listPage(ctx, r, lq); err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		if woken == nil || !etagMatch(known, etag) {
			break
		}
		if deadline == nil {
			t := time.NewTimer(lq.wait)
			defer t.Stop()
			deadline = t.C
		}
		h.polling.Add(1)
		select {
		case <-woken:
			h.polling.Add(-1)
			continue
		case <-deadline:
		case <-h.stopping:
		case <-ctx.Done():
			h.polling.Add(-1)
			return ctx.Err()
		}
		h.polling.Add(-1)
		break
	}
	c.Header("Cache-Control", "no-store")
	c.Header("ETag", etag)
	if etagMatch(known, etag) {
		c.Status(http.StatusNotModified)
		return nil
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// etagMatch reports whether If-None-Match value inm names etag (or is *).
func etagMatch(inm, etag string) bool {
	for t := range strings.SplitSeq(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// listPage returns the listing's JSON body for lq.
func (h *Handler) listPage(ctx context.Context, r *ldp.Request, lq listQuery) ([]byte, error) {
	var recs []deliver.Record
	var nextSeq uint64
	keep := func(rec deliver.Record) bool {
		if lq.status == "" && lq.target == "" {
			return true
		}
		v := h.outboxView(r, rec)
		return (lq.status == "" || v.Status == lq.status) && (lq.target == "" || v.Target == lq.target)
	}
	page := deliver.OutboxPage
	if lq.newest {
		page = deliver.OutboxPageNewest
	}
	err := h.st.View(ctx, func(rd store.Reader) error {
		var err error
		recs, nextSeq, err = page(rd, r.Target.Pod, lq.page.From, lq.page.Limit, keep)
		return err
	})
	if err != nil {
		return nil, err
	}
	items := make([]outboxJSON, 0, len(recs))
	contains := make([]string, 0, len(recs))
	for _, rec := range recs {
		v := h.outboxView(r, rec)
		items = append(items, v)
		contains = append(contains, v.ID)
	}
	next := ""
	if nextSeq != 0 {
		next = strconv.FormatUint(nextSeq, 10)
	}
	body, err := json.Marshal(map[string]any{"id": h.urls.PodRoot(r.Target.Pod) + "outbox/", "contains": contains, "items": items, "next": next})
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}
