package acl

import "errors"

// The seed's messages for requests without a usable API key: every
// handler that refuses such a request sends these, and only these.
const (
	// MsgNoKey is the 401 for a request without credentials.
	MsgNoKey = "No API key provided"
	// MsgInvalidKey is the 401 for an unknown, revoked or malformed key.
	MsgInvalidKey = "Invalid API key"
)

// Errors returned by this package. Their messages are stable and may be sent
// to clients as they are; callers match them with errors.Is. Errors that wrap
// one of these add detail after it but never a secret.
var (
	// ErrNoKey: the request carried no API key.
	ErrNoKey = errors.New(MsgNoKey)
	// ErrInvalidKey: the API key is unknown, revoked or malformed.
	ErrInvalidKey = errors.New(MsgInvalidKey)
	// ErrKeyNotFound: no key with that id exists in that pod.
	ErrKeyNotFound = errors.New("API key not found")
	// ErrLastOwnerKey: revoking the key would leave its pod without an
	// owner key (Revoke; ForceRevoke does it anyway).
	ErrLastOwnerKey = errors.New("this is the pod's last owner key: revoking it would leave nobody able to administer the pod; make another owner key first")
	// ErrKeyConflict: an imported secret is already bound to another pod.
	ErrKeyConflict = errors.New("API key already belongs to another pod")
	// ErrInvalidApp: an app name does not match [a-z0-9][a-z0-9._-]{0,62},
	// or is the reserved name "owner" on a non-owner key.
	ErrInvalidApp = errors.New("Invalid app name")
	// ErrInvalidPod: a pod name does not match [a-z0-9][a-z0-9-]{0,62}.
	ErrInvalidPod = errors.New("Invalid pod name")

	// ErrUnauthenticated: access needs credentials the request did not carry.
	ErrUnauthenticated = errors.New("Authentication required")
	// ErrForbidden: the authenticated agent lacks the access mode needed.
	ErrForbidden = errors.New("Access forbidden")
	// ErrInvalidACL: an ACL document is not a valid Web Access Control graph.
	ErrInvalidACL = errors.New("Invalid ACL document")
	// ErrOutsideRoot: a resource URL does not lie under the root URL given.
	ErrOutsideRoot = errors.New("Resource is outside the pod")

	// ErrInvalidTopic: a topic is not {domain}/{topic}[#{action}]. It starts
	// longer messages (`invalid topic "a b": ...`), hence the lower case.
	ErrInvalidTopic = errors.New("invalid topic")
	// ErrInvalidPattern: a topic permission pattern is malformed. Lower case
	// for the same reason as ErrInvalidTopic.
	ErrInvalidPattern = errors.New("invalid topic pattern")
	// ErrInvalidSubscriptions: a settings/subscriptions document is invalid.
	// Parse errors match it with errors.Is; their own message names the
	// place, e.g. "items[2].agent must be an absolute http(s) URI".
	ErrInvalidSubscriptions = errors.New("invalid settings/subscriptions document")
)
