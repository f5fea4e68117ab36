package netguard

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of ClientOptions.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRedirects     = 3
)

// ClientOptions tune NewClient. Zero values mean the defaults.
type ClientOptions struct {
	// ConnectTimeout bounds each TCP connect and TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds a whole request, including reading the body.
	Timeout time.Duration
	// MaxResponseBytes bounds every response body: reading past it fails
	// with ErrResponseTooLarge. Negative means no limit.
	MaxResponseBytes int64
	// MaxRedirects is how many redirects a request may follow; negative
	// means none (the redirect response itself is returned).
	MaxRedirects int
	// MaxConnsPerHost bounds the connections to one host (0: 64), so one
	// slow target cannot take every connection.
	MaxConnsPerHost int
}

// CheckURL returns nil when raw is an absolute http or https URL with a
// host and without userinfo, and an error wrapping ErrBadURL otherwise.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	return checkURL(u)
}

func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrBadURL, u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return fmt.Errorf("%w: %q has no host", ErrBadURL, u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("%w: %q has userinfo", ErrBadURL, u.Redacted())
	}
	return nil
}

// NewClient returns an http.Client for requests to untrusted targets: its
// connections obey p (with the host's own addresses read now, and every
// minute when dialling, unless p.Own is set), it uses no proxy, it times out, it follows at most
// MaxRedirects redirects and only to http(s) URLs, and its response bodies
// fail with ErrResponseTooLarge past MaxResponseBytes.
func NewClient(p Policy, opts ClientOptions) *http.Client {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.MaxConnsPerHost <= 0 {
		opts.MaxConnsPerHost = 64
	}
	if p.Own == nil && !p.AllowPrivate {
		p.Own = NewOwnAddrs()
	}
	d := p.Dialer()
	d.Timeout = opts.ConnectTimeout
	d.KeepAlive = 30 * time.Second
	var rt http.RoundTripper = &http.Transport{
		Proxy:                  nil, // never a proxy: it would dial for us, unchecked
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    opts.ConnectTimeout,
		ResponseHeaderTimeout:  opts.Timeout,
		ExpectContinueTimeout:  time.Second,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    opts.MaxConnsPerHost, // a busy host keeps its connections between bursts
		MaxConnsPerHost:        opts.MaxConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	rt = &guardTransport{next: rt, max: opts.MaxResponseBytes}
	maxRedirects := opts.MaxRedirects
	return &http.Client{
		Transport: rt,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if maxRedirects < 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, maxRedirects)
			}
			return checkURL(req.URL)
		},
	}
}

// guardTransport checks every request URL and wraps response bodies in a
// limit (none when max < 0).
type guardTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on errors
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || t.max < 0 {
		return resp, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

// limitedBody reads at most max bytes and fails after that.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe one byte: at exactly max bytes the body may be complete.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// ReadLimited reads and closes resp.Body, failing with ErrResponseTooLarge
// when it is longer than max bytes. It reads at most max+1 bytes.
func ReadLimited(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d is more than %d", ErrResponseTooLarge, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return b, fmt.Errorf("netguard: reading response: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	return b, nil
}
