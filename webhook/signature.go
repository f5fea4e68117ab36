// Package webhook holds what podserver needs to call webhook subscribers:
// Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric
// "v1" HMAC-SHA256 with "whsec_" secrets) and CloudEvents 1.0 events in
// structured JSON mode.
//
// This package must not import any other podserver package.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks spec.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
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

// secretKey returns the HMAC key of a secret: the base64 after the
// optional "whsec_" prefix, decoded.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSecret, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadSecret)
	}
	return key, nil
}

// checkMessageID refuses ids that could make the signed content
// "id.timestamp.body" ambiguous or that cannot be a header value.
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

// mac returns the HMAC-SHA256 of "id.timestamp.body".
func mac(key []byte, msgID, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID + "." + ts + "."))
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 HMAC-SHA256, keyed with the decoded secret, of
// "<msgID>.<unix seconds of ts>.<body>". msgID must not contain '.' (use
// the event's UUID, not its URL).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	if err := checkMessageID(msgID); err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, strconv.FormatInt(ts.Unix(), 10), body)), nil
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

// VerifyAt checks a received webhook: webhook-timestamp must be within
// tolerance of now (DefaultTolerance when tolerance <= 0), and one of the
// space-separated "v1,<base64>" signatures in webhook-signature must match
// (compared in constant time). Signatures of other versions are ignored.
func VerifyAt(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := secretKey(secret)
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
	want := mac(key, id, tsText, body) // the signed text is the header's
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatch
}
