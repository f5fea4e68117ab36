package deliver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// endless is a body that never ends.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestReadResponse(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name      string
		code      int
		body      io.Reader
		wantBody  string
		truncated bool
		err       string // "" for success
	}{
		{"short ok", 200, strings.NewReader("thanks"), "thanks", false, ""},
		{"exactly the limit", 200, strings.NewReader(strings.Repeat("a", MaxResponseBody)), strings.Repeat("a", MaxResponseBody), false, ""},
		{"long refusal", 400, strings.NewReader(strings.Repeat("b", 10000)), strings.Repeat("b", MaxResponseBody), true, "400 Bad Request: " + strings.Repeat("b", MaxErrorBody)},
		{"invalid UTF-8", 500, strings.NewReader("oops \xff\xfe"), "oops \xff\xfe", false, "500 Internal Server Error: oops \uFFFD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: c.code, Status: fmt.Sprintf("%d %s", c.code, http.StatusText(c.code)), Header: http.Header{}, Body: io.NopCloser(c.body)}
			got, err := ReadResponse(resp, "https://hooks.example/cb", now)
			if got.Status != c.code || string(got.Body) != c.wantBody || got.Truncated != c.truncated {
				t.Errorf("response %d %q (truncated %v)", got.Status, got.Body, got.Truncated)
			}
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case c.err != "" && (err == nil || !strings.HasSuffix(err.Error(), c.err)):
				t.Errorf("error %v, want one ending in %q", err, c.err)
			}
		})
	}
	// An endless answer is read only in part.
	e := &endless{}
	got, err := ReadResponse(&http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(e)}, "https://hooks.example/cb", now)
	if err != nil || !got.Truncated || len(got.Body) != MaxResponseBody || e.read > MaxResponseBody+maxDrain+64<<10 {
		t.Errorf("endless body: %v, truncated %v, %d bytes kept, %d read", err, got.Truncated, len(got.Body), e.read)
	}
}
