package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// wireConn is one keep-alive HTTP/1.1 connection for the publishers. It
// writes each request in one write from a reused buffer and parses the
// response with a minimal reader (status, Content-Length or chunked body,
// Location and Connection headers), so that a publish costs the bench a few
// microseconds instead of what net/http's client spends on its connection
// goroutines, header maps and per-request allocations. The load tool
// shares the machine with the server it measures, so its own cost is taken
// from the server's budget.
//
// It speaks only what podserver answers: no 1xx responses other than
// ignoring them, no trailers, no compression. A response it cannot parse
// closes the connection; the next request dials again.
type wireConn struct {
	addr string // host:port to dial
	host string // Host header
	c    net.Conn
	r    *bufio.Reader
	buf  []byte // request being built
	body []byte // last response body
}

// wireResponse is what a wireConn reads of a response.
type wireResponse struct {
	Status   int
	Location string
	// Body is valid until the next request on the connection.
	Body []byte
}

// newWireConn returns a connection to the server of base (dialled on first
// use), or, if node is not empty, to the host:port node while the Host
// header still names base's host (a node behind a load balancer).
func newWireConn(base, node string) (*wireConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bench: target %q: %w", base, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("bench: target %q: only http is supported", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if node != "" {
		addr = node
	}
	return &wireConn{addr: addr, host: u.Host}, nil
}

// Close closes the connection.
func (w *wireConn) Close() {
	if w.c != nil {
		_ = w.c.Close()
		w.c = nil
	}
}

// Post sends POST path with the given header lines ("Name: value") and
// body, and reads the response. On any error the connection is closed.
func (w *wireConn) Post(ctx context.Context, path string, headers []string, body []byte) (wireResponse, error) {
	if w.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", w.addr)
		if err != nil {
			return wireResponse{}, fmt.Errorf("bench: dial %s: %w", w.addr, err)
		}
		w.c, w.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = w.c.SetDeadline(dl)
	} else {
		_ = w.c.SetDeadline(time.Now().Add(60 * time.Second))
	}
	b := append(w.buf[:0], "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, w.host...)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	w.buf = b
	if _, err := w.c.Write(b); err != nil {
		w.Close()
		return wireResponse{}, fmt.Errorf("bench: write request: %w", err)
	}
	resp, keep, err := w.read()
	if err != nil || !keep {
		w.Close()
	}
	return resp, err
}

var errWire = errors.New("bench: malformed HTTP response")

// read reads one response; keep is false when the server closes the
// connection after it.
func (w *wireConn) read() (resp wireResponse, keep bool, err error) {
	for {
		line, err := w.line()
		if err != nil {
			return resp, false, err
		}
		// "HTTP/1.1 201 Created"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return resp, false, fmt.Errorf("%w: status line %q", errWire, line)
		}
		resp.Status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return resp, false, fmt.Errorf("%w: status line %q", errWire, line)
		}
		keep = line[7] == '1'
		length, chunked := int64(-1), false
		for {
			h, err := w.line()
			if err != nil {
				return resp, false, err
			}
			if len(h) == 0 {
				break
			}
			name, value, ok := bytes.Cut(h, []byte(":"))
			if !ok {
				return resp, false, fmt.Errorf("%w: header %q", errWire, h)
			}
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
					return resp, false, fmt.Errorf("%w: Content-Length %q", errWire, value)
				}
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.EqualFold(value, []byte("chunked"))
			case bytes.EqualFold(name, []byte("Location")):
				resp.Location = string(value)
			case bytes.EqualFold(name, []byte("Connection")):
				if bytes.EqualFold(value, []byte("close")) {
					keep = false
				}
			}
		}
		if resp.Status >= 100 && resp.Status < 200 {
			continue // 100 Continue and the like carry no body
		}
		w.body = w.body[:0]
		switch {
		case chunked:
			err = w.chunks()
		case length >= 0:
			err = w.fill(length)
		case resp.Status == 204 || resp.Status == 304:
		default:
			// Delimited by the end of the connection.
			w.body, err = io.ReadAll(w.r)
			keep = false
		}
		resp.Body = w.body
		return resp, keep, err
	}
}

// maxWireBody bounds a response body the bench reads.
const maxWireBody = 16 << 20

// fill appends n bytes of body.
func (w *wireConn) fill(n int64) error {
	if int64(len(w.body))+n > maxWireBody {
		return fmt.Errorf("%w: body over %d bytes", errWire, maxWireBody)
	}
	start := len(w.body)
	w.body = append(w.body, make([]byte, n)...)
	if _, err := io.ReadFull(w.r, w.body[start:]); err != nil {
		return fmt.Errorf("bench: read body: %w", err)
	}
	return nil
}

// chunks reads a chunked body.
func (w *wireConn) chunks() error {
	for {
		line, err := w.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errWire, line)
		}
		if n == 0 {
			// Trailers (none expected) end with an empty line.
			for {
				t, err := w.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if err := w.fill(n); err != nil {
			return err
		}
		if crlf, err := w.line(); err != nil || len(crlf) != 0 {
			return fmt.Errorf("%w: chunk without CRLF", errWire)
		}
	}
}

// line reads one CRLF-terminated line without its terminator. The slice is
// valid until the next read.
func (w *wireConn) line() ([]byte, error) {
	l, err := w.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line over %d bytes", errWire, w.r.Size())
		}
		return nil, fmt.Errorf("bench: read response: %w", err)
	}
	l = bytes.TrimSuffix(l, []byte("\n"))
	return bytes.TrimSuffix(l, []byte("\r")), nil
}
