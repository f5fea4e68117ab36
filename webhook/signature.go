// Package webhook holds what podserver needs to call webhook subscribers:
// Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric
// "v1" HMAC-SHA256 with "whsec_" secrets), computed by the spec's reference
// Go library behind our checks of message ids and timestamps, and
// CloudEvents 1.0 events in structured JSON mode.
//
// This package must not import any other podserver package.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Header names of the Standard Webhooks spec.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// SecretPrefix starts every secret NewSecret makes.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far webhook-timestamp may be from the verifier's
// clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// NewSecret returns a new random secret: "whsec_" and the standard base64
// of 32 random bytes (the spec asks for 24 to 64).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// newWebhook returns the reference implementation's signer for a secret:
// the base64 after the optional "whsec_" prefix, decoded, as the HMAC key.
func newWebhook(secret string) (*standardwebhooks.Webhook, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSecret, err)
	}
	return wh, nil
}

// checkMessageID refuses ids that could make the signed content
// "id.timestamp.body" ambiguous or that cannot be a header value. The
// library signs any id; this check stays in front of it.
func checkMessageID(id string) error {
	if id == "" || len(id) > 256 {
		return fmt.Errorf("%w: empty or longer than 256 bytes", ErrBadMessageID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '.' || c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: %q has '.', space or a control character", ErrBadMessageID, id)
		}
	}
	return nil
}

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 HMAC-SHA256, keyed with the decoded secret, of
// "<msgID>.<unix seconds of ts>.<body>". msgID must not contain '.' (use
// the event's UUID, not its URL).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	wh, err := newWebhook(secret)
	if err != nil {
		return "", err
	}
	if err := checkMessageID(msgID); err != nil {
		return "", err
	}
	sig, err := wh.Sign(msgID, ts, body)
	if err != nil {
		return "", fmt.Errorf("webhook: signing: %w", err)
	}
	return sig, nil
}

// SetHeaders signs a message and sets webhook-id, webhook-timestamp and
// webhook-signature on h.
func SetHeaders(h http.Header, secret, msgID string, ts time.Time, body []byte) error {
	sig, err := Sign(secret, msgID, ts, body)
	if err != nil {
		return err
	}
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}

// Verify checks a received webhook against secret with the current time;
// see VerifyAt.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	return VerifyAt(secret, header, body, tolerance, time.Now())
}

// VerifyAt checks a received webhook: webhook-timestamp must be a number
// of seconds within tolerance of now (DefaultTolerance when tolerance <=
// 0), and one of the space-separated "v1,<base64>" signatures in
// webhook-signature must match (compared in constant time). Signatures of
// other versions are ignored.
//
// The timestamp checks are ours, because the library's clock and tolerance
// are fixed; the signature check is the library's. The library signs the
// timestamp as a number, so a timestamp not written in its one canonical
// form (a leading zero) matches no signature.
func VerifyAt(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	wh, err := newWebhook(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: need %s, %s and %s", ErrMissingHeaders, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || tsText[0] < '0' || tsText[0] > '9' {
		return fmt.Errorf("%w: %q is not a number of seconds", ErrTimestamp, tsText)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %s from now", ErrTimestamp, tsText, d.Round(time.Second))
	}
	if strconv.FormatInt(ts, 10) != tsText {
		return fmt.Errorf("%w: timestamp %q is not in canonical form", ErrNoMatch, tsText)
	}
	err = wh.VerifyIgnoringTimestamp(body, header)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, standardwebhooks.ErrNoMatchingSignature):
		return ErrNoMatch
	}
	return fmt.Errorf("%w: %w", ErrNoMatch, err)
}
