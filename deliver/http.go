package deliver

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// MaxErrorBody bounds what a remote handler reads of a refused delivery's
// response, for the record's error.
const MaxErrorBody = 512

// ResponseError maps the response to a remote delivery (a POST to target,
// whose first bytes of body are msg) to an attempt's outcome: nil for 2xx;
// a retry for 408, 429 and 5xx, at Retry-After when the response gives
// one; a Permanent failure for anything else.
func ResponseError(resp *http.Response, target string, msg []byte, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("POST %s: %s: %s", target, resp.Status, bytes.TrimSpace(msg))
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		if after, ok := RetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return &RetryError{After: after, Err: err}
		}
		return err
	}
	return Permanent(err)
}

// RetryAfter parses a Retry-After header value: delay-seconds or an HTTP
// date. Waits are capped at a day.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		d = time.Duration(min(n, 86400)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, 24*time.Hour), true
}
