package notify

import (
	"net/http"
	"strings"

	"podserver/apierr"
	"podserver/rdf"
)

// Client-facing errors. Tests match them by name.
var (
	errMediaType = apierr.New(http.StatusUnsupportedMediaType,
		"a subscription request must be JSON-LD: Content-Type application/ld+json")
	errProfile = apierr.New(http.StatusUnsupportedMediaType,
		"unsupported profile: the only profile is "+rdf.NotificationContextURI)
	errNotJSON = apierr.New(http.StatusUnprocessableEntity,
		"the subscription request is not a JSON object")
	errInvalidJSON = apierr.New(http.StatusBadRequest,
		"the subscription request is not valid JSON")
	errContextMissing = apierr.New(http.StatusUnprocessableEntity,
		`the subscription request needs "@context": ["`+rdf.NotificationContextURI+`"]`)
	errContextInline = apierr.New(http.StatusUnprocessableEntity,
		"inline JSON-LD contexts are not supported in subscription requests: use "+rdf.NotificationContextURI)
	errTypeMissing = apierr.New(http.StatusUnprocessableEntity,
		`"type" must name the channel type: one of `+strings.Join(ChannelTypes(), ", "))
	errTypeService = apierr.New(http.StatusUnprocessableEntity,
		`"type" does not match this subscription service's channel type`)
	errTopic = apierr.New(http.StatusUnprocessableEntity,
		`"topic" must be the absolute http(s) URL of one resource, without a fragment`)
	errTopicElsewhere = apierr.New(http.StatusUnprocessableEntity,
		`"topic" must be a resource of this pod: subscribe through the storage description of the topic's pod`)
	errSendTo = apierr.New(http.StatusUnprocessableEntity,
		`"sendTo" must be an absolute http(s) URL without user info or fragment`)
	errSendToMissing = apierr.New(http.StatusUnprocessableEntity,
		`this channel type needs "sendTo": the URL notifications are posted to`)
	errSendToUnexpected = apierr.New(http.StatusUnprocessableEntity,
		`"sendTo" is only for WebhookChannel2023 and LDNChannel2023 channels`)
	errSendToLoop = apierr.New(http.StatusUnprocessableEntity,
		`"sendTo" is the topic's own inbox: that would notify about its own notifications`)
	errStartAt = apierr.New(http.StatusUnprocessableEntity,
		`"startAt" must be an xsd:dateTime such as 2024-05-01T12:00:00Z`)
	errEndAt = apierr.New(http.StatusUnprocessableEntity,
		`"endAt" must be an xsd:dateTime such as 2024-05-01T12:00:00Z, in the future and after "startAt"`)
	errRate = apierr.New(http.StatusUnprocessableEntity,
		`"rate" must be an xsd:duration of days, hours, minutes and seconds, such as PT10S, of at most 365 days`)
	errState = apierr.New(http.StatusUnprocessableEntity,
		`"state" must be a string of at most 256 characters (an ETag of the topic)`)
	errAccept = apierr.New(http.StatusUnprocessableEntity,
		`"accept" names no media type notifications can be sent in: use application/ld+json, text/turtle, application/n-triples or application/n-quads`)
	errTooMany = apierr.New(http.StatusTooManyRequests,
		"too many notification channels: delete channels you no longer use")
	errAnonPush = apierr.New(http.StatusUnauthorized,
		"webhook and LDN channels need an authenticated subscriber: send an API key in x-api-key")
	errAnonList = apierr.New(http.StatusUnauthorized,
		"listing channels needs an authenticated agent: send an API key in x-api-key")
	errNoChannel = apierr.New(http.StatusNotFound,
		"no such notification channel (it may have expired or been deleted)")
	errNotCreator = apierr.New(http.StatusForbidden,
		"only the agent and client (API key's app, Solid-OIDC client) that made this channel can read or delete it")
	errNoAccess = apierr.New(http.StatusForbidden,
		"the channel's creator can no longer read its topic")
	errNotWebSocket = apierr.New(http.StatusUpgradeRequired,
		"this is a WebSocket endpoint: connect with a WebSocket client")
	errNotFound         = apierr.New(http.StatusNotFound, apierr.MsgNotFound)
	errDescriptionTypes = apierr.New(http.StatusNotAcceptable, "descriptions are available as application/ld+json, text/turtle, application/n-triples and application/n-quads")
	errBodyTooBig       = apierr.New(http.StatusRequestEntityTooLarge,
		"the subscription request is larger than 64 KiB")
)

// Messages that wrap a cause.
const (
	msgUnreadable = "could not read the request body"
	msgHandshake  = "WebSocket handshake failed"
)

func errMethod(allow string) error {
	return apierr.Newf(http.StatusMethodNotAllowed, "method not allowed here; allowed: %s", allow).With("Allow", allow)
}

func errTooManyPush(limit int) error {
	return apierr.Newf(http.StatusTooManyRequests,
		"too many webhook and LDN channels on this pod: at most %d per subscriber; delete channels you no longer use", limit)
}

func errUnknownContext(u string) error {
	return apierr.Newf(http.StatusUnprocessableEntity,
		"unknown JSON-LD context %q: subscription requests use %s", u, rdf.NotificationContextURI)
}
