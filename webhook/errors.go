package webhook

import "errors"

// Errors of Sign and Verify, wrapped with details.
var (
	// ErrBadSecret: the secret is not base64 (after an optional "whsec_").
	ErrBadSecret = errors.New("webhook: malformed secret")
	// ErrBadMessageID: the message id is empty or has '.', space or
	// control characters.
	ErrBadMessageID = errors.New("webhook: malformed message id")
	// ErrMissingHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is missing.
	ErrMissingHeaders = errors.New("webhook: missing webhook headers")
	// ErrTimestamp: webhook-timestamp is malformed or outside the tolerance.
	ErrTimestamp = errors.New("webhook: timestamp malformed or outside tolerance")
	// ErrNoMatch: no v1 signature in webhook-signature matches.
	ErrNoMatch = errors.New("webhook: no matching signature")
)

// ErrBadEvent is wrapped by the errors of Event.MarshalJSON and Parse.
var ErrBadEvent = errors.New("webhook: invalid CloudEvent")
