package publish

import (
	"net/http"

	"podserver/acl"
	"podserver/apierr"
)

// Client-facing messages of POST /publish/ (the seed's API contract and one
// clear message per other rule). Tests match them by name. Messages about
// one event of an array body are prefixed with "events[i]: ".
const (
	// MsgForeignKey: the key belongs to another pod.
	MsgForeignKey = "This API key belongs to another pod: publish with a key of the pod whose publish/ this is"
	// MsgMediaType: the body is not JSON.
	MsgMediaType = "Content-Type must be application/json or application/ld+json"
	// MsgWait: a bad ?wait=.
	MsgWait = "wait must be a whole number of seconds from 0 to 60"

	// MsgBadJSON starts the message for a body that is not JSON.
	MsgBadJSON = "The body is not valid JSON: "
	// MsgBodyShape: the body is neither an object nor an array.
	MsgBodyShape = "The body must be an event object or an array of event objects"
	// MsgEmptyArray: an array without events.
	MsgEmptyArray = "The array holds no events: send at least one"
	// MsgTooManyEvents: more events than one request may carry.
	MsgTooManyEvents = "An array may hold at most 100 events"
	// MsgNotObject: an array element that is not an object.
	MsgNotObject = "An event must be a JSON object"

	// MsgNoRecipient is the seed's message for a missing recipient.
	MsgNoRecipient = "No recipient found"
	// MsgNoTopic: topic missing.
	MsgNoTopic = "No topic found"
	// MsgNoData: data missing.
	MsgNoData = "No data found"
	// MsgBadRecipient: recipient is not an absolute http(s) URI.
	MsgBadRecipient = "recipient must be a WebID: an absolute http(s) URI such as https://user.example.com/profile/card#me"
	// MsgBadSource: source is not an absolute http(s) URI.
	MsgBadSource = "source must be a WebID: an absolute http(s) URI such as https://participant.example.com/profile/card#me"
	// MsgBadTopicType: topic is not a string.
	MsgBadTopicType = "topic must be a string: {domain}/{topic}#{action}"
	// MsgDataNotObject: data is not an object.
	MsgDataNotObject = "data must be a JSON object, e.g. {\"type\": \"AddAction\", ...}"
	// MsgDataTooLarge is a format: data's size and the pod's limit.
	MsgDataTooLarge = "data is %d bytes, more than this pod's limit of %d bytes (settings/publish maxDataBytes)"
	// MsgDataKeyCase is a format: the offending key.
	MsgDataKeyCase = "data key %q is not lower-case snake_case, which this pod's settings/publish requires (dataKeys)"
	// MsgBadID: id is not a UUID.
	MsgBadID = "id must be a UUID such as 4c99d051-a526-4526-9cca-34f92a6c8c9d"
	// MsgDuplicateID is a format: an id used twice in one array.
	MsgDuplicateID = "id %s appears more than once in this array"
	// MsgBadTimestamp: timestamp is not an ISO 8601 date-time.
	MsgBadTimestamp = "timestamp must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z"
	// MsgBadCorrelation is a format: the field name.
	MsgBadCorrelation = "%s must be a non-empty string of at most 256 bytes"
	// MsgBadDelay: delay out of range.
	MsgBadDelay = "delay must be a number of seconds from 0 to 31536000 (one year)"
	// MsgBadDeliverAt: deliverAt is not an RFC 3339 time.
	MsgBadDeliverAt = "deliverAt must be an RFC 3339 date-time within a year, such as 2024-05-01T12:00:00Z"
	// MsgDelayAndDeliverAt: both given.
	MsgDelayAndDeliverAt = "use either delay or deliverAt, not both"
	// MsgUnknownField is a format: the field's name.
	MsgUnknownField = "unknown field %q: an event has recipient, topic and data, and may have source, id, timestamp, correlationId, causationId, delay, deliverAt, type and @context"
	// MsgDuplicateField is a format: the field's name.
	MsgDuplicateField = "field %q appears more than once"
	// MsgInvalidJSONLD starts the message for an event that uses JSON-LD
	// keywords and does not expand.
	MsgInvalidJSONLD = "the event is not valid JSON-LD: "

	// MsgNotLocal is a format: the field (recipient or source) and WebID,
	// a WebID on another server while delivery to other servers is off
	// (publish.Config.Remote; always on in the server).
	MsgNotLocal = "%s %s is on another server, and this server is set up not to deliver to other servers"
	// MsgNoSuchPod is a format: the field, the WebID and the pod name.
	MsgNoSuchPod = "%s %s names pod %q, which does not exist on this server"
	// MsgNotWebID is a format: the field, the URL given, and the WebID of
	// the pod it points into.
	MsgNotWebID = "%s %s is on this server but is not a pod's WebID: did you mean %s?"
	// MsgNotPodURL is a format: the field and the URL given.
	MsgNotPodURL = "%s %s is on this server but in no pod: a pod's WebID looks like %s"
	// MsgNotAuthorized is the seed's 403: the WebID and topic.
	MsgNotAuthorized = "Not authorized to publish to %s on topic %s"
	// MsgInboxRefused is a format: the party field, its WebID and the
	// publisher's WebID. The party's settings let the publisher publish
	// the topic, but its inbox's ACL does not let the publisher append.
	MsgInboxRefused = "the %s %s does not let %s append to its inbox: its inbox's ACL must grant acl:Append (the default inbox ACL grants it to every authenticated agent)"
	// MsgCopyFields: a notification delivered to an inbox names a
	// recipient or a topic (an event copy) but not both as strings.
	MsgCopyFields = "an event copy names both its recipient (a WebID) and its topic, as strings; a notification with neither is a plain notification"
	// MsgConflict is a format: the event id.
	MsgConflict = "An event with id %s was already published with a different body: use a new id for a new event"
)

var (
	errNoKey      = apierr.New(http.StatusUnauthorized, acl.MsgNoKey)
	errForeignKey = apierr.New(http.StatusForbidden, MsgForeignKey)
	errMediaType  = apierr.New(http.StatusUnsupportedMediaType, MsgMediaType)
	errWait       = apierr.New(http.StatusBadRequest, MsgWait)
	errNoPod      = apierr.New(http.StatusNotFound, "this pod has no inbox")
)
