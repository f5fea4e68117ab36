package deliver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// MaxErrorBody bounds how much of a refused delivery's response goes into
// the record's error.
const MaxErrorBody = 512

// MaxResponseBody bounds how much of a target's answer is kept for
// Result.ResponseBody (?wait). The rest of the body, up to maxDrain, is
// read and dropped so the connection can be reused; a longer body is not
// read at all.
const MaxResponseBody = 4 << 10

const maxDrain = 64 << 10

// Response is a target's answer to a remote attempt: its HTTP status and
// the start of its body.
type Response struct {
	// Status is the HTTP status code (0: no answer).
	Status int
	// Body is at most MaxResponseBody bytes of the answer.
	Body []byte
	// Truncated is true when the answer was longer than Body.
	Truncated bool
}

// ReadResponse reads the start of resp's body (with a limit: a huge or
// endless body costs at most MaxResponseBody+maxDrain bytes), closes it,
// and maps the answer to a POST to target to an attempt's outcome with
// ResponseError.
func ReadResponse(resp *http.Response, target string, now time.Time) (Response, error) {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	truncated := len(body) > MaxResponseBody
	if truncated {
		body = body[:MaxResponseBody]
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	msg := body
	if len(msg) > MaxErrorBody {
		msg = msg[:MaxErrorBody]
	}
	msg = bytes.ToValidUTF8(msg, []byte("\uFFFD"))
	return Response{Status: resp.StatusCode, Body: body, Truncated: truncated}, ResponseError(resp, target, msg, now)
}

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
