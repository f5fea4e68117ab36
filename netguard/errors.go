package netguard

import "errors"

// ErrRefused is wrapped by the error of a connection to a refused address.
// Retrying cannot help, so it is a permanent failure for a delivery queue
// (its Permanent method; see deliver.Permanent).
var ErrRefused error = permanent("netguard: address refused")

// permanent is an error that retrying cannot fix.
type permanent string

func (e permanent) Error() string { return string(e) }

// Permanent reports that retrying cannot fix e.
func (permanent) Permanent() bool { return true }

// Errors of the client and helpers, wrapped with details.
var (
	// ErrResponseTooLarge: a response body is longer than the limit.
	ErrResponseTooLarge = errors.New("netguard: response body too large")
	// ErrTooManyRedirects: a request was redirected more often than allowed.
	ErrTooManyRedirects = errors.New("netguard: too many redirects")
	// ErrBadURL: a URL is not an absolute http(s) URL without userinfo.
	ErrBadURL = errors.New("netguard: URL not allowed")
)

// Errors of Fetcher.Fetch that refuse a fetch without any network traffic.
var (
	// ErrBusy: the Fetcher's concurrency limit, overall or for the host,
	// is reached.
	ErrBusy = errors.New("netguard: too many fetches in progress")
	// ErrHostFailing: the host, or the address it leads to, failed too
	// often lately.
	ErrHostFailing = errors.New("netguard: host failed too often lately")
)
