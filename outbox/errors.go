package outbox

import (
	"net/http"

	"podserver/apierr"
)

// Client-facing errors of the outbox, its status view and replay.

var (
	errOutboxOwner      = apierr.New(http.StatusForbidden, "only the pod's owner may read its outbox or retry its deliveries")
	errOutboxStatus     = apierr.New(http.StatusBadRequest, "status must be pending, failed or delivered")
	errOutboxTarget     = apierr.New(http.StatusBadRequest, "target must be an absolute http(s) URL: a WebID, a pod inbox URL or a webhook URL")
	errOutboxOrder      = apierr.New(http.StatusBadRequest, "order must be oldest (the default) or newest")
	errOutboxWait       = apierr.New(http.StatusBadRequest, "wait must be a whole number of seconds from 0 to 60")
	errOutboxItem       = apierr.New(http.StatusNotFound, "no such delivery in this outbox: it never existed, or it was delivered long enough ago to be pruned (the last 1000 delivered are kept)")
	errOutboxLive       = apierr.New(http.StatusConflict, "this delivery was delivered: only a pending delivery (retried now) or a failed one (a dead letter) can be retried; replay an event with POST outbox/ {\"event\", \"target\"}")
	errOutboxAttempting = apierr.New(http.StatusConflict, "this delivery is being attempted right now: its outcome is recorded when the attempt ends; retry it then if it failed")
	errOutboxMethod     = apierr.New(http.StatusMethodNotAllowed, "the outbox is read with GET; a pending or failed delivery is retried with POST to its URL; an event is replayed with POST to outbox/").With("Allow", "GET, HEAD, POST")
)

var errStatusEvent = apierr.New(http.StatusNotFound, "no such event: event must be the URL of an event in this pod's publish/ (or its id)")

var (
	errReplayBody   = apierr.New(http.StatusBadRequest, `the body must be a JSON object {"event": "<event URL or id>", "target": "<WebID, inbox URL or webhook URL>"}`)
	errReplayMedia  = apierr.New(http.StatusUnsupportedMediaType, "a replay is JSON: Content-Type application/json")
	errReplayTarget = apierr.New(http.StatusUnprocessableEntity, "target is not a target of this event that this pod delivers to under the current settings: name its recipient or its source (for an event of this pod), or a subscriber of this pod (a WebID or a pod inbox URL) or the webhook URL of one of this pod's subscriptions to its topic")
	errReplayEvent  = apierr.New(http.StatusNotFound, "no such event: event must be the URL of an event in this pod's publish/ (or its id), or the URL of an event addressed to this pod that another pod of this server published or that this pod's inbox holds")
)
