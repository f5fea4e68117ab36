package remote

import (
	"net/http"

	"podserver/apierr"
)

// Errors of signed delivery to an inbox. The sender is not authenticated
// yet, so what went wrong with its key's profile (addresses, DNS, parse
// details) is logged at debug level, never sent.
var (
	errSignedMedia = apierr.New(http.StatusUnsupportedMediaType, "a delivered event must be JSON-LD: Content-Type application/ld+json or application/json")
	errSignedKey   = apierr.New(http.StatusUnauthorized, "the signing key's profile could not be used to identify the sender")
	// errSignerUnreachable: the key's profile could not be fetched now
	// (network, remote status, too many fetches): the sender may retry.
	errSignerUnreachable = apierr.New(http.StatusServiceUnavailable, "the signing key's profile could not be fetched; retry later")
	// errSignerKey: the key's profile was fetched but names no usable key.
	errSignerKey = apierr.New(http.StatusUnauthorized, msgSignatureRefused+"its keyid does not lead to a usable Ed25519 key in a WebID profile")
)

// msgSignatureRefused is followed by httpsig's verdict on the request
// itself, which holds nothing but what the request carried.
const msgSignatureRefused = "the request's HTTP message signature was refused: "
