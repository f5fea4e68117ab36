package outbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/ldp"
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
//	GET  <pod>/outbox/?status=pending|failed|delivered&limit=N&from=SEQ
//	GET  <pod>/outbox/?event=URL  the delivery status of one event (status.go)
//	GET  <pod>/outbox/{seq}
//	POST <pod>/outbox/{seq}   retry a dead letter (202)
//	POST <pod>/outbox/        replay an event to one target (202; replay.go)

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
}

func (h *Handler) outboxView(r *ldp.Request, rec deliver.Record) outboxJSON {
	v := outboxJSON{
		ID: h.urls.PodRoot(r.Target.Pod) + "outbox/" + strconv.FormatUint(rec.Seq, 10), Seq: rec.Seq, Kind: rec.Kind,
		EventID: rec.EventID, Target: rec.Target, Status: outboxPending, Attempts: rec.Attempts, Created: rec.Created,
		LastError: rec.LastError, LastStatus: rec.LastStatus, Delivered: rec.Delivered,
	}
	if rec.Kind == deliver.KindInbox {
		pod, _ := ldp.SplitStoragePath(rec.Target)
		v.Target = h.urls.PodRoot(pod) + "inbox/"
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
			return err
		})
	default:
		return errOutboxMethod
	}
	switch {
	case errors.Is(err, deliver.ErrNoRecord):
		return errOutboxItem
	case errors.Is(err, deliver.ErrNotDead):
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

// outboxList serves GET outbox/: records oldest first, paged by seq:
// {"id", "contains": [record URLs], "items": [records], "next": seq or ""}.
func (h *Handler) outboxList(c *gin.Context, r *ldp.Request) error {
	q := c.Request.URL.Query()
	if q.Has("event") {
		return h.eventStatus(c, r, q.Get("event"))
	}
	want := ""
	switch s := q.Get("status"); s {
	case "", outboxPending, outboxFailed, outboxDelivered:
		want = s
	default:
		return errOutboxStatus
	}
	pg, err := ldp.ParsePage(q, 50)
	if err != nil {
		return err
	}
	var recs []deliver.Record
	var nextSeq uint64
	err = h.st.View(c.Request.Context(), func(rd store.Reader) error {
		var err error
		recs, nextSeq, err = deliver.OutboxPage(rd, r.Target.Pod, pg.From, pg.Limit, func(rec deliver.Record) bool {
			return want == "" || h.outboxView(r, rec).Status == want
		})
		return err
	})
	if err != nil {
		return err
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
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(body, '\n'))
	return nil
}
