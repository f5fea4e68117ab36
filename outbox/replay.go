package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/publish"
	"podserver/store"
)

// Replaying an event to one of the pod's own targets of it, for the
// pod's owner:
//
//	POST <pod>/outbox/  {"event": "<event URL or id>", "target": "<target>"}
//
// A pod owns the deliveries its settings caused (DESIGN section 2), so the
// event is either
//   - one of the pod's own events (its URL, or its id in publish/): its
//     targets are computed as publishing would (publish.Targets), so the
//     topic permissions of the recipient and source are checked again (403
//     with the seed's message when they no longer allow it), and target
//     must be one the pod owns: the recipient or source (or, when the pod
//     is a party itself, one its own settings route); or
//   - an event whose recipient or source is this pod, published by another
//     pod of this server (its URL) or held in this pod's inbox (its id, as
//     the copy gives it; events from other servers): target must be one
//     of the pod's own subscribers or webhooks for it under the current
//     settings (publish.Forwards; 403 when they no longer let the event's
//     agent publish the topic).
//
// target is a WebID (a party or a subscriber, on this server or another),
// a pod inbox URL of this server, or the URL of a subscription's webhook.
// The answer is 202 with the new pending record (Location: its outbox URL). A
// local inbox keeps one copy per event: when it already holds the event,
// the replay is a no-op success, 200 {"status": "delivered", "item": ...}
// without a record; else a local record is queued and copies the event
// once.

// replayRequest is the body of a replay.
type replayRequest struct {
	Event  string `json:"event"`
	Target string `json:"target"`
}

// heldEvent finds the event named by ev (a URL) that pod may replay to its
// own subscribers without having published it: an event in the publish/ of
// another pod of this server, else the copy of event ev in pod's inbox. It
// returns the storage path of what to deliver, the event's id and body.
func (h *Handler) heldEvent(rd store.Reader, pod, ev string) (path, id string, body []byte, err error) {
	if p, rel, ok := h.urls.PodOfURL(ev); ok && p != pod && strings.HasPrefix(rel, "publish/") {
		res, err := ldp.Get(rd, ldp.StoragePath(p, rel))
		switch {
		case err == nil:
			// Another pod's event is found only when it is addressed to
			// pod, so that its existence is not told to anyone else.
			if h.partyInboxes(res.Body)[inbox.Path(pod)] {
				return ldp.StoragePath(p, rel), ev, res.Body, nil
			}
		case !errors.Is(err, ldp.ErrNotFound):
			return "", "", nil, err
		}
	}
	item, held, err := inbox.Holds(rd, inbox.Path(pod), ev)
	if err != nil {
		return "", "", nil, err
	}
	if !held {
		return "", "", nil, errReplayEvent
	}
	res, err := ldp.Get(rd, item)
	if errors.Is(err, ldp.ErrNotFound) {
		// The owner deleted the copy.
		return "", "", nil, errReplayEvent
	}
	if err != nil {
		return "", "", nil, err
	}
	return item, ev, res.Body, nil
}

// replay serves POST outbox/.
func (h *Handler) replay(c *gin.Context, r *ldp.Request) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := ldp.ParseContentType(ct)
		if err != nil || (mt != ldp.MediaJSON && mt != ldp.MediaJSONLD) {
			return errReplayMedia
		}
	}
	body, err := ldp.ReadBody(c, 64<<10)
	if err != nil {
		return err
	}
	var req replayRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Event == "" || req.Target == "" {
		return errReplayBody
	}
	path, evURL, own := eventPath(r, req.Event)
	pod := r.Target.Pod
	// A local WebID or pod inbox URL names that pod's inbox.
	target, kind := req.Target, ""
	if p, rel, local := h.urls.PodOfURL(req.Target); local && (rel == "inbox/" || h.urls.WebID(p) == req.Target) {
		target, kind = inbox.Path(p), deliver.KindInbox
	}
	var rec deliver.Record
	var item string
	err = h.st.Update(c.Request.Context(), func(tx store.Txn) error {
		rec, item = deliver.Record{}, ""
		var ts []publish.Target
		if own {
			res, err := ldp.Get(tx, path)
			if errors.Is(err, ldp.ErrNotFound) {
				return errStatusEvent
			}
			if err != nil {
				return err
			}
			if ts, err = h.pub.Targets(c.Request.Context(), tx, pod, res.Body); err != nil {
				return err
			}
		} else {
			var stored []byte
			var err error
			if path, evURL, stored, err = h.heldEvent(tx, pod, req.Event); err != nil {
				return err
			}
			if ts, err = h.pub.Forwards(c.Request.Context(), tx, pod, stored); err != nil {
				return err
			}
		}
		found := false
		for _, t := range ts {
			if t.Target == target && (kind == "" || t.Kind == kind) && t.Owner(pod) == pod {
				rec = deliver.Record{Kind: t.Kind, Pod: pod, Event: path, EventID: evURL, Target: t.Target, Via: t.Via}
				found = true
				break
			}
		}
		if !found {
			return errReplayTarget
		}
		if rec.Kind == deliver.KindInbox {
			it, held, err := inbox.Holds(tx, rec.Target, evURL)
			if err != nil {
				return err
			}
			if held {
				item = it
				return nil
			}
		}
		var err error
		rec, err = h.queue.Enqueue(tx, rec)
		return err
	})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	if item != "" {
		ip, rel := ldp.SplitStoragePath(item)
		c.JSON(http.StatusOK, gin.H{"status": outboxDelivered, "target": h.urls.PodRoot(ip) + "inbox/", "item": h.urls.URL(ip, rel),
			"note": "the inbox already holds this event (one copy per event): nothing was replayed"})
		return nil
	}
	v := h.outboxView(r, rec)
	c.Header("Location", v.ID)
	c.JSON(http.StatusAccepted, v)
	return nil
}
