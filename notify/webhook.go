package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook requests are signed as the Standard Webhooks specification says,
// with the secret the subscription response gave the subscriber:
//
//	webhook-id:        the notification id
//	webhook-timestamp: Unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">
//
// keyed with the secret's bytes (the base64 after "whsec_"). Every push
// request, webhook or LDN, is also signed by the topic's pod with HTTP
// Message Signatures (RFC 9421, Ed25519, the key in the pod's WebID
// profile), as the delivery queue signs (DESIGN section 2).

// Sign adds the Standard Webhooks headers for body to h.
func Sign(h http.Header, secret, id string, t time.Time, body []byte) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+signature(key, id, ts, body))
	return nil
}

// ErrSignature is returned by Verify for a request that is not signed with
// the secret, or whose timestamp is too far from now.
var ErrSignature = errors.New("webhook signature does not verify")

// Verify checks the Standard Webhooks signature of a received request,
// allowing tolerance between its timestamp and now. Receivers and tests
// use it.
func Verify(h http.Header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignature
	}
	want := signature(key, id, ts, body)
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if v, ok := strings.CutPrefix(s, "v1,"); ok && hmac.Equal([]byte(v), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook secret must be whsec_ followed by base64")
	}
	return key, nil
}

func signature(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
