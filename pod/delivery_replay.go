package pod

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// Replaying an event to one of its targets, for the owner of the
// publishing pod:
//
//	POST <pod>/outbox/  {"event": "<event URL or id>", "target": "<target>"}
//
// target is a WebID (the recipient, the source, or a subscriber, on this
// server or another), a pod inbox URL of this server, or the URL of a
// subscription's webhook. The event's current targets are computed as
// publishing would (publish.Targets), so the topic permissions of the
// recipient and source are checked again (403 with the seed's message when
// they no longer allow it) and target must still be one of them. The
// answer is 202 with the new pending record (Location: its outbox URL). A
// local inbox keeps one copy per event: when it already holds the event,
// the replay is a no-op success, 200 {"status": "delivered", "item": ...}
// without a record; else a local record is queued and copies the event
// once.

// replayRequest is the body of a replay.
type replayRequest struct {
	Event  string `json:"event"`
	Target string `json:"target"`
}

var (
	errReplayBody   = apierr.New(http.StatusBadRequest, `the body must be a JSON object {"event": "<event URL or id>", "target": "<WebID, inbox URL or webhook URL>"}`)
	errReplayMedia  = apierr.New(http.StatusUnsupportedMediaType, "a replay is JSON: Content-Type application/json")
	errReplayTarget = apierr.New(http.StatusUnprocessableEntity, "target is not a target of this event under the current settings: name its recipient, its source or a subscriber (a WebID or a pod inbox URL), or the webhook URL of a subscription to its topic")
)

// replay serves POST outbox/.
func (e *events) replay(c *gin.Context, r *ldp.Request) error {
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
	path, evURL, ok := eventPath(r, req.Event)
	if !ok {
		return errStatusEvent
	}
	pod := r.Target.Pod
	// A local WebID or pod inbox URL names that pod's inbox.
	target, kind := req.Target, ""
	if p, rel, local := e.s.PodOfURL(req.Target); local && (rel == "inbox/" || e.s.WebID(p) == req.Target) {
		target, kind = inbox.Path(p), deliver.KindInbox
	}
	var rec deliver.Record
	var item string
	err = e.s.st.Update(c.Request.Context(), func(tx store.Txn) error {
		rec, item = deliver.Record{}, ""
		res, err := ldp.Get(tx, path)
		if errors.Is(err, ldp.ErrNotFound) {
			return errStatusEvent
		}
		if err != nil {
			return err
		}
		ts, err := e.pub.Targets(tx, pod, res.Body)
		if err != nil {
			return err
		}
		found := false
		for _, t := range ts {
			if t.Target == target && (kind == "" || t.Kind == kind) {
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
		rec, err = e.queue.Enqueue(tx, rec)
		return err
	})
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	if item != "" {
		ip, rel := ldp.SplitStoragePath(item)
		c.JSON(http.StatusOK, gin.H{"status": outboxDelivered, "target": e.s.PodRoot(ip) + "inbox/", "item": e.s.PodRoot(ip) + rel,
			"note": "the inbox already holds this event (one copy per event): nothing was replayed"})
		return nil
	}
	v := e.outboxView(r, rec)
	c.Header("Location", v.ID)
	c.JSON(http.StatusAccepted, v)
	return nil
}
