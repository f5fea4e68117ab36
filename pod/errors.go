package pod

import (
	"net/http"

	"podserver/acl"
	"podserver/apierr"
)

// Client-facing errors and messages of the server's own routes, one table
// (the common 401, 403 and 404 are apierr's; each handler package has its
// own).
var (
	errInvalidKey   = apierr.New(http.StatusUnauthorized, acl.MsgInvalidKey)
	errPublishWrite = apierr.New(http.StatusMethodNotAllowed, "events are created with POST to the pod's publish/ container").With("Allow", "OPTIONS, HEAD, GET, DELETE")
	errInboxWrite   = apierr.New(http.StatusMethodNotAllowed, "inbox items are created by delivery or with POST to the inbox container").With("Allow", "OPTIONS, HEAD, GET, DELETE")
	errKeepInbox    = apierr.New(http.StatusMethodNotAllowed, "a pod's inbox/ is part of the pod: delete its items instead").With("Allow", "OPTIONS, HEAD, GET, POST")
	errKeepPublish  = apierr.New(http.StatusMethodNotAllowed, "a pod's publish/ is part of the pod: delete its events instead").With("Allow", "OPTIONS, HEAD, GET, POST")
	errEncodedPath  = apierr.New(http.StatusBadRequest, "encoded slashes, backslashes and NUL bytes are not allowed in paths")
	errKeyAPIMethod = apierr.New(http.StatusMethodNotAllowed, "the key API takes GET and POST on settings/keys/, GET and DELETE on settings/keys/{id}").With("Allow", "OPTIONS, GET, POST, DELETE")
)

// Messages with arguments; each comment names what it takes.
const (
	// msgNoPod takes the pod name.
	msgNoPod = "no pod named %q on this server"
	// msgNoPodAtHost takes the request's host.
	msgNoPodAtHost = "no pod at host %q"
	// msgBadPodName takes the path segment.
	msgBadPodName = "%q is not a valid pod name: pod names are 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
	// msgPodRoot takes the pod's root URL.
	msgPodRoot = "not found: the pod's root is %s"
	// msgInvalidPath is followed by what is wrong.
	msgInvalidPath = "invalid path: "
	// msgKeyAPIAt takes the key API's URL.
	msgKeyAPIAt = "the key API is at %s"
	// msgKeyBodyJSON is followed by the decoder's error.
	msgKeyBodyJSON = "the body is not valid JSON: "
	// msgBadAppName takes the app name.
	msgBadAppName = "invalid app name %q: use 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (not \"owner\")"
	// msgSettingsJSON takes the media type sent.
	msgSettingsJSON = "settings/subscriptions must be JSON (application/json or application/ld+json), not %s"
)
