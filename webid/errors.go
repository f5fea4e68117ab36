package webid

import (
	"errors"

	"podserver/netguard"
)

// Errors of the Resolver, wrapped with details.
var (
	// ErrBadWebID: the WebID or key id is not an absolute http(s) URL (a
	// key id also needs a fragment).
	ErrBadWebID = errors.New("webid: not an http(s) WebID or key id")
	// ErrFetch: the profile could not be fetched: connection refused or
	// failed, timeout, non-2xx status (a *StatusError is in the chain),
	// too many fetches in progress (netguard.ErrBusy) or a host that
	// failed too often lately (netguard.ErrHostFailing).
	ErrFetch = errors.New("webid: cannot fetch profile")
	// ErrMalformedProfile: the profile is not Turtle or JSON-LD we can
	// read, is over the size limit or the parse cost bounds, or the
	// requested key in it is unusable.
	ErrMalformedProfile = errors.New("webid: malformed profile")
	// ErrNoInbox: the profile names no ldp:inbox for the WebID.
	ErrNoInbox = errors.New("webid: profile has no ldp:inbox")
	// ErrKeyNotFound: the profile has no key with that id linked by one
	// of its agents.
	ErrKeyNotFound = errors.New("webid: key not found in profile")
)

// StatusError is the cause of an ErrFetch for a non-2xx response.
type StatusError = netguard.StatusError
