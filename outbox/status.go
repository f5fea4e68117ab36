package outbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// The delivery status of one event, for the owner of the publishing pod:
//
//	GET <pod>/outbox/?event=<event URL, or its id in publish/>
//
// The event resource publish/{id} stays the JSON-LD event as published; a
// GET or HEAD of it by the pod's owner carries
//
//	Link: <<pod>/outbox/?event=<event URL>>; rel="https://w3id.org/podserver/v1#deliveryStatus"
//
// to this view, which lists one entry per target the pod owns: the
// recipient and source it addressed (and, when the pod is a party of its
// own event, what its own settings route). Deliveries routed by another
// party's settings/subscriptions (its subscribers' copies and webhooks)
// belong to that party's outbox and are not listed (DESIGN section 2):
//   - every outbox record of the event (remote inboxes, webhooks, and
//     local inboxes delivered through the queue because the event was
//     held back): pending, failed or delivered, with attempts, lastError,
//     lastStatus, due and a link to the record (record);
//   - every inbox of this server among those targets that has no record:
//     "delivered" when the inbox holds the copy (item links to it), else
//     "absent" (published before the subscription, or the copy was
//     deleted by the inbox's owner).
//
// Delivered records are pruned after a while (deliver.Config.KeepDelivered),
// so an old event's remote deliveries may no longer be listed.

// RelDeliveryStatus is the link relation from an event to its delivery
// status.
const RelDeliveryStatus = "https://w3id.org/podserver/v1#deliveryStatus"

// Statuses of targets without a record.
const statusAbsent = "absent"

// statusTarget is one target in an event's delivery status.
type statusTarget struct {
	Target     string    `json:"target"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Record     string    `json:"record,omitempty"`
	Item       string    `json:"item,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	Due        time.Time `json:"due,omitzero"`
	Delivered  time.Time `json:"delivered,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	LastStatus int       `json:"lastStatus,omitempty"`
}

// eventStatusURL returns the URL of the delivery status of the event at
// eventURL of the pod at root.
func eventStatusURL(root, eventURL string) string {
	return root + "outbox/?event=" + url.QueryEscape(eventURL)
}

// LinkEventStatus adds, for the pod's owner reading one of its events
// (publish/{id}), the Link to the event's delivery status.
func LinkEventStatus(c *gin.Context, r *ldp.Request, rel string) {
	m := c.Request.Method
	name := strings.TrimPrefix(rel, "publish/")
	if (m != http.MethodGet && m != http.MethodHead) || name == "" || strings.Contains(name, "/") ||
		!r.Principal.Owner || r.Principal.Pod != r.Target.Pod {
		return
	}
	c.Writer.Header().Add("Link", `<`+eventStatusURL(r.Target.Root, r.Target.Root+rel)+`>; rel="`+RelDeliveryStatus+`"`)
}

// eventPath returns the storage path and URL of the event of pod named by
// ev: its URL, or its id in the pod's publish/.
func eventPath(r *ldp.Request, ev string) (path, u string, ok bool) {
	name := strings.TrimPrefix(ev, r.Target.Root+"publish/")
	if name == "" || strings.ContainsAny(name, "/?#") {
		return "", "", false
	}
	return ldp.StoragePath(r.Target.Pod, "publish/"+name), r.Target.Root + "publish/" + name, true
}

// partyInboxes returns the storage paths of the inboxes of the local
// recipient and source of stored, an event's body: targets its publisher
// addressed, whatever the settings say now.
func (h *Handler) partyInboxes(stored []byte) map[string]bool {
	var ev struct{ Recipient, Source string }
	out := map[string]bool{}
	if json.Unmarshal(stored, &ev) != nil {
		return out
	}
	for _, w := range []string{ev.Recipient, ev.Source} {
		if p, rel, ok := h.urls.PodOfURL(w); ok && rel == "profile/card" && h.urls.WebID(p) == w {
			out[inbox.Path(p)] = true
		}
	}
	return out
}

// eventStatus serves GET outbox/?event=.
func (h *Handler) eventStatus(c *gin.Context, r *ldp.Request, ev string) error {
	path, evURL, ok := eventPath(r, ev)
	if !ok {
		return errStatusEvent
	}
	pod := r.Target.Pod
	var targets []statusTarget
	err := h.st.View(c.Request.Context(), func(rd store.Reader) error {
		res, err := ldp.Get(rd, path)
		if errors.Is(err, ldp.ErrNotFound) {
			return errStatusEvent
		}
		if err != nil {
			return err
		}
		// The targets pod owns: the recipient and source it addressed, and
		// those its own settings route when it is a party itself. A
		// subscriber's copy or webhook routed by a party's settings is the
		// party's (its outbox), not listed here.
		ts, err := h.pub.Targets(c.Request.Context(), rd, pod, res.Body)
		var ae *apierr.Error
		if errors.As(err, &ae) {
			// The settings no longer allow the event: only what was
			// delivered to its parties is known.
			ts = nil
		} else if err != nil {
			return err
		}
		owned := h.partyInboxes(res.Body)
		for _, t := range ts {
			if t.Kind == deliver.KindInbox && t.Owner(pod) == pod {
				owned[t.Target] = true
			}
		}
		recs, err := deliver.ForEvent(rd, pod, path)
		if err != nil {
			return err
		}
		recorded := map[string]bool{}
		for _, rec := range recs {
			v := h.outboxView(r, rec)
			recorded[rec.Target] = true
			targets = append(targets, statusTarget{
				Target: v.Target, Kind: v.Kind, Status: v.Status, Record: v.ID, Attempts: v.Attempts,
				Due: v.Due, Delivered: v.Delivered, LastError: v.LastError, LastStatus: v.LastStatus,
			})
		}
		// Copies made while publishing have no record: the inboxes of this
		// server that hold the event, as its copies entry lists them...
		holders, err := inbox.Holders(rd, evURL)
		if err != nil {
			return err
		}
		for _, hd := range holders {
			if recorded[hd.Inbox] || !owned[hd.Inbox] {
				continue
			}
			recorded[hd.Inbox] = true
			hp, _ := ldp.SplitStoragePath(hd.Inbox)
			ip, rel := ldp.SplitStoragePath(hd.Item)
			targets = append(targets, statusTarget{Target: h.urls.PodRoot(hp) + "inbox/", Kind: deliver.KindInbox,
				Status: outboxDelivered, Item: h.urls.URL(ip, rel)})
		}
		// ...and the other local inboxes the event goes to under the
		// current settings, and whether they hold it (copies stored before
		// copies entries existed are found there).
		for _, t := range ts {
			if t.Kind != deliver.KindInbox || recorded[t.Target] || t.Owner(pod) != pod {
				continue
			}
			tp, _ := ldp.SplitStoragePath(t.Target)
			st := statusTarget{Target: h.urls.PodRoot(tp) + "inbox/", Kind: deliver.KindInbox, Status: statusAbsent}
			item, held, err := inbox.Holds(rd, t.Target, evURL)
			if err != nil {
				return err
			}
			if held {
				st.Status = outboxDelivered
				ip, rel := ldp.SplitStoragePath(item)
				st.Item = h.urls.URL(ip, rel)
			}
			targets = append(targets, st)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if targets == nil {
		targets = []statusTarget{}
	}
	body, err := json.Marshal(map[string]any{"id": eventStatusURL(r.Target.Root, evURL), "event": evURL, "targets": targets})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(body, '\n'))
	return nil
}
