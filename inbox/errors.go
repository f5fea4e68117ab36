package inbox

import (
	"net/http"

	"podserver/apierr"
)

// Client-facing errors of the inbox handlers. Tests match them by name.
var (
	errLimit    = apierr.New(http.StatusBadRequest, "limit must be a whole number from 1 to 1000")
	errFrom     = apierr.New(http.StatusBadRequest, "from must be a cursor taken from a previous page's next (an item name of 16 hex digits)")
	errFromTime = apierr.New(http.StatusBadRequest, "with by=timestamp, from must be a Unix time in milliseconds; with by=datetime, an RFC 3339 date-time such as 2024-05-01T12:00:00Z")
	errBy       = apierr.New(http.StatusBadRequest, "by must be timestamp or datetime")
	errFormat   = apierr.New(http.StatusBadRequest, "format must be ids (or left out for full copies)")
	errWait     = apierr.New(http.StatusBadRequest, "wait must be a whole number of seconds from 0 to 60")
	errMediaLDN = apierr.New(http.StatusUnsupportedMediaType, "a notification must be RDF: Content-Type "+AcceptPost)
	errNotObj   = apierr.New(http.StatusBadRequest, "a JSON notification must be a JSON-LD object, or an array of JSON-LD objects")
	errBadJSON  = apierr.New(http.StatusBadRequest, "the body is not valid JSON")
	errIDType   = apierr.New(http.StatusBadRequest, "id must be a string: the URL of the event this notification copies")
	errIDOwner  = apierr.New(http.StatusForbidden, "the notification's id names an event published by another pod of this server: only that pod may deliver it")
	errIDTaken  = apierr.New(http.StatusConflict, "this inbox already holds a different notification with this id: give each notification an id of its own (or none); sending the same notification again is answered 200")
	errNoInbox  = apierr.New(http.StatusNotFound, "this pod has no inbox")
)
