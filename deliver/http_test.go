package deliver

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestResponseError(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		code       int
		retryAfter string
		want       string // ok, retry, after, permanent
		after      time.Duration
	}{
		{200, "", "ok", 0},
		{201, "", "ok", 0},
		{204, "", "ok", 0},
		{400, "", "permanent", 0},
		{403, "", "permanent", 0},
		{404, "", "permanent", 0},
		{410, "", "permanent", 0},
		{408, "", "retry", 0},
		{429, "", "retry", 0},
		{500, "", "retry", 0},
		{503, "120", "after", 2 * time.Minute},
		{429, now.Add(90 * time.Second).Format(http.TimeFormat), "after", 90 * time.Second},
		{503, "999999", "after", 24 * time.Hour},
		{503, "soon", "retry", 0},
		{302, "", "permanent", 0},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.code, Status: http.StatusText(c.code), Header: http.Header{}}
		if c.retryAfter != "" {
			resp.Header.Set("Retry-After", c.retryAfter)
		}
		err := ResponseError(resp, "https://x.example/inbox/", []byte("why"), now)
		var re *RetryError
		var pe permanentError
		got := "retry"
		switch {
		case err == nil:
			got = "ok"
		case errors.As(err, &pe):
			got = "permanent"
		case errors.As(err, &re):
			got = "after"
			if re.After != c.after {
				t.Errorf("%d %q: after %s, want %s", c.code, c.retryAfter, re.After, c.after)
			}
		}
		if got != c.want {
			t.Errorf("%d %q: %s (%v), want %s", c.code, c.retryAfter, got, err, c.want)
		}
	}
}
