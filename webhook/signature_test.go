package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reference vector of the Standard Webhooks reference implementation
// (standard-webhooks/standard-webhooks, libraries/go/webhook_test.go,
// TestWebhookSign).
const (
	vecSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTimestamp = 1614265330
	vecPayload   = `{"test": 2432232314}`
	vecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignVector(t *testing.T) {
	got, err := Sign(vecSecret, vecMsgID, time.Unix(vecTimestamp, 0), []byte(vecPayload))
	if err != nil || got != vecSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vecSignature)
	}
	// The secret without its prefix is the same secret.
	got, _ = Sign(strings.TrimPrefix(vecSecret, SecretPrefix), vecMsgID, time.Unix(vecTimestamp, 0), []byte(vecPayload))
	if got != vecSignature {
		t.Fatalf("Sign without prefix = %q", got)
	}
}

// independentSign computes a signature straight from the spec's text,
// sharing no code with Sign.
func independentSign(secret, id string, ts int64, body string) string {
	return independentSignText(secret, id, strconv.FormatInt(ts, 10), body)
}

// independentSignText signs with the timestamp text as given.
func independentSignText(secret, id, ts, body string) string {
	key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignMatchesIndependent(t *testing.T) {
	for i := range 20 {
		secret := NewSecret()
		body := strings.Repeat(`{"a":"ü"}`, i)
		ts := time.Unix(1_700_000_000+int64(i), 0)
		got, err := Sign(secret, "evt_"+strconv.Itoa(i), ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if want := independentSign(secret, "evt_"+strconv.Itoa(i), ts.Unix(), body); got != want {
			t.Fatalf("Sign = %s, independent = %s", got, want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secrets %q %q", a, b)
	}
	key, err := base64.StdEncoding.DecodeString(a[len("whsec_"):])
	if err != nil || len(key) < 24 || len(key) > 64 {
		t.Fatalf("secret key %d bytes, %v", len(key), err)
	}
}

func TestSignErrors(t *testing.T) {
	ts := time.Unix(vecTimestamp, 0)
	for _, tt := range []struct {
		secret, id string
		want       error
	}{
		{"whsec_not base64!", "evt_1", ErrBadSecret},
		{"whsec_", "evt_1", ErrBadSecret},
		{vecSecret, "", ErrBadMessageID},
		{vecSecret, "https://a.example/pod/publish/1", ErrBadMessageID},
		{vecSecret, "evt 1", ErrBadMessageID},
		{vecSecret, "evt\n1", ErrBadMessageID},
		{vecSecret, strings.Repeat("x", 257), ErrBadMessageID},
	} {
		if _, err := Sign(tt.secret, tt.id, ts, nil); !errors.Is(err, tt.want) {
			t.Errorf("Sign(%q, %q) = %v, want %v", tt.secret, tt.id, err, tt.want)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(vecTimestamp, 0)
	vecHeader := func() http.Header {
		h := http.Header{}
		h.Set(HeaderID, vecMsgID)
		h.Set(HeaderTimestamp, strconv.Itoa(vecTimestamp))
		h.Set(HeaderSignature, vecSignature)
		return h
	}
	other := NewSecret()
	tests := []struct {
		name   string
		secret string
		mutate func(h http.Header)
		body   string
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{name: "reference vector"},
		{name: "secret without prefix", secret: strings.TrimPrefix(vecSecret, SecretPrefix)},
		{name: "several signatures, one good", mutate: func(h http.Header) {
			h.Set(HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,AAAA v2,"+vecSignature[3:]+" "+vecSignature+"  v1,AAAA")
		}},
		{name: "only other versions", mutate: func(h http.Header) {
			h.Set(HeaderSignature, "v1a,"+vecSignature[3:]+" v2,"+vecSignature[3:])
		}, want: ErrNoMatch},
		{name: "garbage signature", mutate: func(h http.Header) { h.Set(HeaderSignature, "v1,!!! nocomma") }, want: ErrNoMatch},
		{name: "other secret", secret: other, want: ErrNoMatch},
		{name: "body changed", body: `{"test": 2432232315}`, want: ErrNoMatch},
		{name: "id changed", mutate: func(h http.Header) { h.Set(HeaderID, "msg_other") }, want: ErrNoMatch},
		{name: "timestamp changed", mutate: func(h http.Header) { h.Set(HeaderTimestamp, strconv.Itoa(vecTimestamp+1)) }, want: ErrNoMatch},
		{name: "no id", mutate: func(h http.Header) { h.Del(HeaderID) }, want: ErrMissingHeaders},
		{name: "no timestamp", mutate: func(h http.Header) { h.Del(HeaderTimestamp) }, want: ErrMissingHeaders},
		{name: "no signature", mutate: func(h http.Header) { h.Del(HeaderSignature) }, want: ErrMissingHeaders},
		{name: "timestamp not a number", mutate: func(h http.Header) { h.Set(HeaderTimestamp, "1614265330.5") }, want: ErrTimestamp},
		{name: "timestamp with sign", mutate: func(h http.Header) { h.Set(HeaderTimestamp, "+1614265330") }, want: ErrTimestamp},
		{name: "timestamp with leading zero", mutate: func(h http.Header) { h.Set(HeaderTimestamp, "01614265330") }, want: ErrNoMatch},
		{name: "timestamp with leading zero, signed as written", mutate: func(h http.Header) {
			h.Set(HeaderTimestamp, "01614265330")
			h.Set(HeaderSignature, independentSignText(vecSecret, vecMsgID, "01614265330", vecPayload))
		}, want: ErrNoMatch},
		{name: "old within tolerance", now: now.Add(DefaultTolerance)},
		{name: "too old", now: now.Add(DefaultTolerance + time.Second), want: ErrTimestamp},
		{name: "too new", now: now.Add(-DefaultTolerance - time.Second), want: ErrTimestamp},
		{name: "custom tolerance", now: now.Add(2 * time.Second), tol: time.Second, want: ErrTimestamp},
		{name: "bad secret", secret: "whsec_???", want: ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := vecHeader()
			if tt.mutate != nil {
				tt.mutate(h)
			}
			secret, body, at := vecSecret, vecPayload, now
			if tt.secret != "" {
				secret = tt.secret
			}
			if tt.body != "" {
				body = tt.body
			}
			if !tt.now.IsZero() {
				at = tt.now
			}
			err := VerifyAt(secret, h, []byte(body), tt.tol, at)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyAt = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSetHeadersVerify(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"specversion":"1.0"}`)
	h := http.Header{}
	if err := SetHeaders(h, secret, "evt_1", time.Now(), body); err != nil {
		t.Fatal(err)
	}
	if err := Verify(secret, h, body, 0); err != nil {
		t.Fatal(err)
	}
	if h.Get(HeaderSignature) != independentSign(secret, "evt_1", mustInt(t, h.Get(HeaderTimestamp)), string(body)) {
		t.Fatal("SetHeaders signature differs from the independent computation")
	}
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
